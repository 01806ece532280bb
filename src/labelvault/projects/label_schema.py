"""The label schema: typed item fields and questions (a Pydantic discriminated union)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

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


def _unique(values: list[str], what: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {what} {value!r}")
        seen.add(value)


class SingleChoice(QuestionBase):
    type: Literal["single_choice"]
    options: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> SingleChoice:
        _unique([o.value for o in self.options], "option")
        return self


class MultipleChoice(QuestionBase):
    type: Literal["multiple_choice"]
    options: list[Option] = Field(min_length=1)
    min_selected: int = Field(default=0, ge=0)
    max_selected: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> MultipleChoice:
        _unique([o.value for o in self.options], "option")
        if self.max_selected is not None and self.max_selected < self.min_selected:
            raise ValueError("max_selected is smaller than min_selected")
        return self


class Spans(QuestionBase):
    type: Literal["spans"]
    field: str = Field(pattern=NAME_PATTERN, description="A text field of the item.")
    labels: list[Option] = Field(min_length=1)
    allow_overlap: bool = False

    @model_validator(mode="after")
    def _check(self) -> Spans:
        _unique([o.value for o in self.labels], "label")
        return self


class Boxes(QuestionBase):
    type: Literal["boxes"]
    field: str = Field(pattern=NAME_PATTERN, description="An image field of the item.")
    labels: list[Option] = Field(min_length=1)
    max_boxes: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _check(self) -> Boxes:
        _unique([o.value for o in self.labels], "label")
        return self


def _check_scale(points: list[ScalePoint]) -> None:
    values = [p.value for p in points]
    if len(set(values)) != len(values):
        raise ValueError("scale points must have distinct values")


class Rating(QuestionBase):
    type: Literal["rating"]
    scale: list[ScalePoint] = Field(min_length=2, max_length=20)

    @model_validator(mode="after")
    def _check(self) -> Rating:
        _check_scale(self.scale)
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
        _unique([c.name for c in self.criteria], "criterion")
        for criterion in self.criteria:
            _check_scale(criterion.scale)
        return self


class Pairwise(QuestionBase):
    type: Literal["pairwise"]
    field: str = Field(pattern=NAME_PATTERN, description="A responses field; its first two are compared.")
    allow_tie: bool = True
    strengths: list[str] = Field(default_factory=lambda: ["slightly", "clearly", "much"])
    reason: Literal["none", "optional", "required"] = "optional"


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
        if self.mode == "rewrite" and not self.source_field:
            raise ValueError("a rewrite question needs source_field")
        if self.max_length < self.min_length:
            raise ValueError("max_length is smaller than min_length")
        return self


class ChatEvaluation(QuestionBase):
    type: Literal["chat_evaluation"]
    field: str = Field(pattern=NAME_PATTERN, description="A chat field of the item.")
    rate_roles: list[str] = Field(default_factory=lambda: ["assistant"], min_length=1)
    turn_scale: list[ScalePoint] = Field(min_length=2, max_length=20)
    verdicts: list[Option] = Field(min_length=2)

    @model_validator(mode="after")
    def _check(self) -> ChatEvaluation:
        _check_scale(self.turn_scale)
        _unique([o.value for o in self.verdicts], "verdict")
        return self


Question = Annotated[
    SingleChoice | MultipleChoice | Spans | Boxes | Rating | Rubric | Pairwise | Ranking | FreeText
    | ChatEvaluation,
    Field(discriminator="type"),
]

QUESTION_FIELD_KINDS: dict[str, FieldKind] = {
    "spans": FieldKind.text,
    "boxes": FieldKind.image,
    "pairwise": FieldKind.responses,
    "ranking": FieldKind.responses,
    "chat_evaluation": FieldKind.chat,
}


class LabelSchema(Strict):
    """The fields an item carries and the questions asked about it."""

    fields: list[FieldDef] = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> LabelSchema:
        _unique([f.name for f in self.fields], "field")
        _unique([q.name for q in self.questions], "question")
        kinds = {f.name: f.kind for f in self.fields}
        seen: dict[str, Any] = {}
        for question in self.questions:
            wanted = QUESTION_FIELD_KINDS.get(question.type)
            if wanted is not None:
                target = question.field  # type: ignore[union-attr]
                if kinds.get(target) != wanted:
                    raise ValueError(
                        f"question {question.name!r} needs a {wanted.value} field named {target!r}"
                    )
            if isinstance(question, FreeText) and question.source_field is not None:
                if kinds.get(question.source_field) != FieldKind.text:
                    raise ValueError(
                        f"question {question.name!r} rewrites {question.source_field!r}, "
                        "which is not a text field"
                    )
            if question.show_when is not None and question.show_when.question not in seen:
                raise ValueError(
                    f"question {question.name!r} depends on {question.show_when.question!r}, "
                    "which must be an earlier question"
                )
            seen[question.name] = question
        return self

    def question(self, name: str) -> Any:
        for question in self.questions:
            if question.name == name:
                return question
        return None
