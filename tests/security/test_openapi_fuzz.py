"""Property-based fuzzing of the OpenAPI document (schemathesis) as each role: no answer is a server error and
every documented answer matches its response schema.

Bounded: a few derandomized examples per operation and role, half with generated path ids and half with the
ids of real objects of the caller's organization, so the same inputs run every time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance
from tests.security.world import PRINCIPALS, World, build_world

EXAMPLES = 12
ROLES = ("owner", "manager", "reviewer", "annotator", "anonymous")
# Real objects for the path parameters of the same name. Never the callers themselves: a fuzzed DELETE or PATCH
# of a member names someone who is not acting in this run.
PINNED = {"project_id": "project_id", "item_id": "item_id", "annotation_id": "annotation_id",
          "lease_id": "lease_id", "job_id": "job_id", "token_id": "token_id", "user_id": "suspended_user_id",
          "suspension_id": "suspension_id", "vendor_id": "vendor_id", "path": "path"}


@pytest.fixture
def world(client, factory, ctx) -> World:
    return build_world(client, factory, ctx.runner)


def _pinned(operation: Any, ids: dict[str, str]) -> dict[str, str]:
    names = [p.name for p in operation.path_parameters]
    return {name: ids[PINNED[name]] for name in names if name in PINNED}


def _fuzz(operation: Any, strategy: Any, headers: dict[str, str], failures: list[str], answered: set[str]) -> None:
    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case: Any) -> None:
        try:
            response = case.call(headers=headers)
        except Exception as error:  # the app raised: what a server would answer with 500
            failures.append(f"{operation.label}: raised {type(error).__name__}: {error}")
            return
        if response.status_code < 300:
            answered.add(operation.label)
        try:
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance],
                                   headers=headers)
        except Exception as failure:  # collected, so that one run reports every operation that fails
            failures.append(f"{operation.label}: {response.status_code} {' '.join(str(failure).split())[:300]}")

    run()


@pytest.mark.slow
def test_fuzzing_each_role_finds_no_server_error_and_no_schema_violation(world):
    a = world.orgs["A"]
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    failures: list[str] = []
    answered: set[str] = set()
    for kind in [k for k in PRINCIPALS if k.name in ROLES]:
        actor = kind.make(world, a)
        headers = actor.headers if actor else {}
        for operation in operations:
            _fuzz(operation, operation.as_strategy(), headers, failures, answered)
            pinned = _pinned(operation, a.ids)
            if pinned:
                _fuzz(operation, operation.as_strategy(path_parameters=pinned), headers, failures, answered)
    assert not failures, "\n".join(sorted(set(failures)))
    assert len(answered) > len(operations) / 3, "too few operations were reached past validation to mean much"
