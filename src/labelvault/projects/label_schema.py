"""The label schema: typed item fields and questions (a Pydantic discriminated union)."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FieldKind(enum.StrEnum):
    text = "text"  # a string
    chat = "chat"  # a list of {"role", "content"} messages
    image = "image"  # a path inside the media store
    responses = "responses"  # candidate responses: strings or {"id", "text", ...}
    number = "number"
    json = "json"  # any JSON value, shown as-is


class FieldDef(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    kind: FieldKind
    required: bool = True
    title: str | None = None
    # Who sees the field: everyone the item is routed to, only the organization's own people, or the
    # organization's own people and the vendors listed (by id).
    visible_to: Literal["all", "in_house"] | list[str] = "all"
    # For vendors, replace personal data in this text field by typed placeholders (see `redaction`).
    redact: bool = False


DetectorName = Literal["email", "phone", "card", "iban", "ip"]


class Redaction(Strict):
    """What is redacted in fields marked `redact` before a vendor sees them."""

    detectors: list[DetectorName] = Field(default_factory=lambda: list(get_args(DetectorName)))
    patterns: dict[str, str] = Field(default_factory=dict, description="placeholder kind -> regular expression")
    words: dict[str, list[str]] = Field(default_factory=dict, description="placeholder kind -> words")

    @model_validator(mode="after")
    def _check(self) -> Redaction:
        for kind, pattern in self.patterns.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"patterns.{kind}: not a regular expression ({exc})") from None
        return self


class Option(Strict):
    value: str = Field(min_length=1, max_length=100)
    label: str | None = None
    hotkey: str | None = Field(default=None, max_length=1)


class ScalePoint(Strict):
    value: int
    label: str | None = None


class ShowWhen(Strict):
    """Show a question only when another question's answer equals (or contains) `equals`."""

    question: str = Field(pattern=NAME_PATTERN)
    equals: str | int | bool


class QuestionBase(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    title: str = ""
    help: str = ""
    required: bool = True
    show_when: ShowWhen | None = None


class SchemaProblems(ValueError):
    """Problems found by a validator, each with its path relative to the model that found it."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{path}: {reason}" for path, reason in problems))
        self.problems = problems


def _raise(problems: list[tuple[str, str]]) -> None:
    if problems:
        raise SchemaProblems(problems)


def _duplicates(values: list[str], what: str, path: str) -> list[tuple[str, str]]:
    """One problem per repeated value, at the repeat's position, e.g. `options.2.value`."""
    seen: set[str] = set()
    problems = []
    for index, value in enumerate(values):
        if value in seen:
            problems.append((path.format(index), f"duplicate {what} {value!r}"))
        seen.add(value)
    return problems


class SingleChoice(QuestionBase):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> SingleChoice:
        _raise(_duplicates([o.value for o in self.options], "option", "options.{}.value"))
        return self


class MultipleChoice(QuestionBase):
    type: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=1)
    min_selected: int = Field(default=0, ge=0)
    max_selected: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> MultipleChoice:
        problems = _duplicates([o.value for o in self.options], "option", "options.{}.value")
        if self.max_selected is not None and self.max_selected < self.min_selected:
            problems.append(("max_selected", "is smaller than min_selected"))
        if self.min_selected > len(self.options):
            problems.append(("min_selected", f"is more than the {len(self.options)} options"))
        _raise(problems)
        return self


class Spans(QuestionBase):
    type: Literal["spans"]
    field: str = Field(pattern=NAME_PATTERN, description="A text field of the item.")
    labels: list[Option] = Field(min_length=1)
    allow_overlap: bool = False

    @model_validator(mode="after")
    def _check(self) -> Spans:
        _raise(_duplicates([o.value for o in self.labels], "label", "labels.{}.value"))
        return self


class Boxes(QuestionBase):
    type: Literal["boxes"]
    field: str = Field(pattern=NAME_PATTERN, description="An image field of the item.")
    labels: list[Option] = Field(min_length=1)
    max_boxes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Boxes:
        _raise(_duplicates([o.value for o in self.labels], "label", "labels.{}.value"))
        return self


def _scale_duplicates(points: list[ScalePoint], path: str) -> list[tuple[str, str]]:
    return _duplicates([str(p.value) for p in points], "scale value", path + ".{}.value")


class Rating(QuestionBase):
    type: Literal["rating"]
    scale: list[ScalePoint] = Field(min_length=2, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> Rating:
        _raise(_scale_duplicates(self.scale, "scale"))
        return self


class Criterion(Strict):
    name: str = Field(pattern=NAME_PATTERN)
    title: str = ""
    scale: list[ScalePoint] = Field(min_length=2, max_length=20)


class Rubric(QuestionBase):
    type: Literal["rubric"]
    criteria: list[Criterion] = Field(min_length=1)
    comments: Literal["none", "optional", "required"] = "optional"

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        problems = _duplicates([c.name for c in self.criteria], "criterion", "criteria.{}.name")
        for index, criterion in enumerate(self.criteria):
            problems += _scale_duplicates(criterion.scale, f"criteria.{index}.scale")
        _raise(problems)
        return self


class Pairwise(QuestionBase):
    type: Literal["pairwise"]
    field: str = Field(pattern=NAME_PATTERN, description="A responses field; its first two are compared.")
    allow_tie: bool = True
    strengths: list[str] = Field(default_factory=lambda: ["slightly", "clearly", "much"])
    reason: Literal["none", "optional", "required"] = "optional"

    @model_validator(mode="after")
    def _check(self) -> Pairwise:
        _raise(_duplicates(self.strengths, "strength", "strengths.{}"))
        return self


class Ranking(QuestionBase):
    type: Literal["ranking"]
    field: str = Field(pattern=NAME_PATTERN, description="A responses field; all are ranked, best first.")


class FreeText(QuestionBase):
    type: Literal["free_text"]
    mode: Literal["write", "rewrite"] = "write"
    source_field: str | None = Field(default=None, pattern=NAME_PATTERN)
    min_length: int = Field(default=0, ge=0)
    max_length: int = Field(default=20000, ge=1)

    @model_validator(mode="after")
    def _check(self) -> FreeText:
        problems = []
        if self.mode == "rewrite" and not self.source_field:
            problems.append(("source_field", "a rewrite question needs the text field it rewrites"))
        if self.max_length < self.min_length:
            problems.append(("max_length", "is smaller than min_length"))
        _raise(problems)
        return self


class ChatEvaluation(QuestionBase):
    type: Literal["chat_evaluation"]
    field: str = Field(pattern=NAME_PATTERN, description="A chat field of the item.")
    rate_roles: list[str] = Field(default_factory=lambda: ["assistant"], min_length=1)
    turn_scale: list[ScalePoint] = Field(min_length=2, max_length=20)
    verdicts: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> ChatEvaluation:
        problems = _scale_duplicates(self.turn_scale, "turn_scale")
        problems += _duplicates([o.value for o in self.verdicts], "verdict", "verdicts.{}.value")
        _raise(problems)
        return self


Question = Annotated[
    SingleChoice | MultipleChoice | Spans | Boxes | Rating | Rubric | Pairwise | Ranking | FreeText
    | ChatEvaluation,
    Field(discriminator="type"),
]

QUESTION_TYPES: frozenset[str] = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in (SingleChoice, MultipleChoice, Spans, Boxes, Rating, Rubric, Pairwise, Ranking, FreeText,
                  ChatEvaluation)
)

QUESTION_FIELD_KINDS: dict[str, FieldKind] = {
    "spans": FieldKind.text,
    "boxes": FieldKind.image,
    "pairwise": FieldKind.responses,
    "ranking": FieldKind.responses,
    "chat_evaluation": FieldKind.chat,
}


def _show_when_problem(rule: ShowWhen, earlier: dict[str, Any]) -> tuple[str, str] | None:
    """Where and why `rule` could never be met, or None when it can."""
    target = earlier.get(rule.question)
    if target is None:
        return "question", f"refers to {rule.question!r}, which must be an earlier question"
    if isinstance(target, SingleChoice | MultipleChoice):
        values = [o.value for o in target.options]
        if not isinstance(rule.equals, str) or rule.equals not in values:
            return "equals", f"must be one of the options of {rule.question!r}: {values}"
        return None
    if isinstance(target, Rating):
        points = [p.value for p in target.scale]
        if isinstance(rule.equals, bool) or rule.equals not in points:
            return "equals", f"must be one of the scale values of {rule.question!r}: {points}"
        return None
    return "question", (f"{rule.question!r} is a {target.type} question; "
                        "only a choice or rating question can show another")


def _a(kind: FieldKind) -> str:
    return f"{'an' if kind.value[0] in 'aeiou' else 'a'} {kind.value} field"


def _describe(kind: FieldKind | None) -> str:
    return "not a field of the schema" if kind is None else _a(kind)


class LabelSchema(Strict):
    """The fields an item carries and the questions asked about it."""

    fields: list[FieldDef] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)
    redaction: Redaction | None = None
    # Metadata keys a vendor's people see (none by default).
    vendor_metadata: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> LabelSchema:
        problems = _duplicates([f.name for f in self.fields], "field", "fields.{}.name")
        problems += _duplicates([q.name for q in self.questions], "question", "questions.{}.name")
        kinds = {f.name: f.kind for f in self.fields}
        for index, f in enumerate(self.fields):
            if f.redact and f.kind != FieldKind.text:
                problems.append((f"fields.{index}.redact", f"only text fields are redacted; {f.name!r} is "
                                 f"{_describe(f.kind)}"))
        earlier: dict[str, Any] = {}
        for index, question in enumerate(self.questions):
            where = f"questions.{index}"
            wanted = QUESTION_FIELD_KINDS.get(question.type)
            if wanted is not None:
                target = question.field  # type: ignore[union-attr]
                if kinds.get(target) != wanted:
                    problems.append((f"{where}.field", f"needs {_a(wanted)}; "
                                     f"{target!r} is {_describe(kinds.get(target))}"))
            source = question.source_field if isinstance(question, FreeText) else None
            if source is not None and kinds.get(source) != FieldKind.text:
                problems.append((f"{where}.source_field",
                                 f"needs a text field; {source!r} is {_describe(kinds.get(source))}"))
            if question.show_when is not None:
                problem = _show_when_problem(question.show_when, earlier)
                if problem is not None:
                    problems.append((f"{where}.show_when.{problem[0]}", problem[1]))
            earlier.setdefault(question.name, question)
        _raise(problems)
        return self

    def question(self, name: str) -> Any:
        for question in self.questions:
            if question.name == name:
                return question
        return None
