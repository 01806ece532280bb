"""Imports every domain's models so that metadata (and Alembic) sees all tables."""

from labelvault.accounts import models as accounts  # noqa: F401
from labelvault.annotations import models as annotations  # noqa: F401
from labelvault.assignments import models as assignments  # noqa: F401
from labelvault.crypto import models as crypto  # noqa: F401
from labelvault.db.base import Base
from labelvault.items import models as items  # noqa: F401
from labelvault.jobs import models as jobs  # noqa: F401
from labelvault.ledger import models as ledger  # noqa: F401
from labelvault.predictions import models as predictions  # noqa: F401
from labelvault.projects import models as projects  # noqa: F401
from labelvault.quality import models as quality  # noqa: F401
from labelvault.security import models as security  # noqa: F401
from labelvault.workforce import models as workforce  # noqa: F401

metadata = Base.metadata
