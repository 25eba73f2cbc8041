"""Request and response bodies for session reports."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from halaqa.evaluations import quran
from halaqa.kit.validation import Input
from halaqa.scheduling.lifecycle import Status


def _blank_is_none(text: str | None) -> str | None:
    """Surrounding spaces go; a text left empty says nothing (as if left out)."""
    if text is None:
        return None
    text = text.strip()
    return text or None


Note = Annotated[str, Field(max_length=5000), AfterValidator(_blank_is_none)]
Grade = Annotated[int, Field(ge=0, le=10, description="0 to 10")]
Verdict = Literal["done", "partly_done", "not_done"]
SurahNumber = Annotated[
    int, Field(ge=1, le=quran.SURAH_COUNT, description="1 (Al-Fatiha) to 114 (An-Nas)")
]
# No fixed maximum: the surah's own count is checked below, with a message that names it.
AyahNumber = Annotated[
    int, Field(ge=1, description="An ayah of that surah, from 1 to its count (286 at most)")
]
PageNumber = Annotated[
    int, Field(ge=1, le=quran.PAGE_COUNT, description="A page of the Madani mushaf, 1 to 604")
]
MAX_PASSAGES = 20


def _refused(error: ValueError) -> PydanticCustomError:
    # The message as it is, without pydantic's "Value error, " in front.
    return PydanticCustomError("invalid_passage", str(error))


class PassageIn(Input):
    """From one ayah to another, both included; it may span surahs (Al-Mulk 1 to Al-Qalam 52)
    but never ends before it starts. Pages are optional: the first alone is one page."""

    from_surah: SurahNumber
    from_ayah: AyahNumber
    to_surah: SurahNumber
    to_ayah: AyahNumber
    from_page: PageNumber | None = None
    to_page: PageNumber | None = None

    # Each check runs once the fields it needs have passed theirs (pydantic keeps only those in
    # info.data), so every problem is reported at the field that has it.
    @field_validator("from_ayah")
    @classmethod
    def _from_ayah_in_surah(cls, ayah: int, info: ValidationInfo) -> int:
        if "from_surah" in info.data:
            try:
                quran.check_ayah(info.data["from_surah"], ayah)
            except ValueError as error:
                raise _refused(error) from None
        return ayah

    @field_validator("to_surah")
    @classmethod
    def _to_surah_not_before(cls, surah: int, info: ValidationInfo) -> int:
        if "from_surah" in info.data:
            try:
                quran.check_surah_order(info.data["from_surah"], surah)
            except ValueError as error:
                raise _refused(error) from None
        return surah

    @field_validator("to_ayah")
    @classmethod
    def _to_ayah_in_surah_and_order(cls, ayah: int, info: ValidationInfo) -> int:
        if "to_surah" in info.data:
            try:
                quran.check_ayah(info.data["to_surah"], ayah)
                if {"from_surah", "from_ayah"} <= info.data.keys():
                    start = (info.data["from_surah"], info.data["from_ayah"])
                    quran.check_order(*start, info.data["to_surah"], ayah)
            except ValueError as error:
                raise _refused(error) from None
        return ayah

    @field_validator("to_page")
    @classmethod
    def _pages_in_order(cls, page: int | None, info: ValidationInfo) -> int | None:
        if "from_page" in info.data:
            try:
                quran.check_pages(info.data["from_page"], page)
            except ValueError as error:
                raise _refused(error) from None
        return page


class QuranIn(Input):
    memorisation: list[PassageIn] = Field(
        default_factory=list, max_length=MAX_PASSAGES, description="Newly memorised (hifz)"
    )
    revision: list[PassageIn] = Field(
        default_factory=list, max_length=MAX_PASSAGES, description="Revised (muraja'a)"
    )
    recitation_grade: Grade | None = None


class AcademicIn(Input):
    grade: Grade | None = None
    learning_outcomes: Note | None = None


class HomeworkIn(Input):
    assigned: Note | None = Field(None, description="Homework given for next time")
    reviewed: Note | None = Field(None, description="How the homework given last time went")
    verdict: Verdict | None = Field(None, description="Whether last time's homework was done")


class ReportIn(Input):
    """The whole report (PUT replaces it): a Quran part, an academic part, or both, as suits the
    session; homework; notes. At least one thing must be said."""

    quran: QuranIn | None = None
    academic: AcademicIn | None = None
    homework: HomeworkIn | None = None
    teacher_notes: Note | None = None

    @model_validator(mode="after")
    def _says_something(self) -> ReportIn:
        if not any(
            (
                self.quran
                and (
                    self.quran.memorisation
                    or self.quran.revision
                    or self.quran.recitation_grade is not None
                ),
                self.academic
                and (self.academic.grade is not None or self.academic.learning_outcomes),
                self.homework
                and (self.homework.assigned or self.homework.reviewed or self.homework.verdict),
                self.teacher_notes,
            )
        ):
            raise PydanticCustomError(
                "empty_report",
                "the report says nothing: give a grade, a passage, homework or notes",
            )
        return self


# --- answers ---------------------------------------------------------------------------------


class SurahOut(BaseModel):
    number: int
    name_ar: str
    name_en: str = Field(description="Transliterated")
    ayahs: int = Field(description="How many ayahs the surah has")


class PassageOut(BaseModel):
    from_surah: SurahOut
    from_ayah: int
    to_surah: SurahOut
    to_ayah: int
    from_page: int | None
    to_page: int | None
    ayahs: int = Field(description="How many ayahs the passage holds")
    pages: int | None = Field(description="How many pages, as the teacher gave them")


class QuranOut(BaseModel):
    memorisation: list[PassageOut]
    revision: list[PassageOut]
    recitation_grade: int | None


class AcademicOut(BaseModel):
    grade: int | None
    learning_outcomes: str | None


class HomeworkOut(BaseModel):
    assigned: str | None
    reviewed: str | None
    verdict: Verdict | None


class AttendanceOut(BaseModel):
    """The student's attendance as the session's attendance records have it."""

    status: Literal["present", "late", "left_early", "partial", "absent", "excused"]
    status_source: Literal["auto", "teacher", "admin"]
    seconds: int = Field(description="Present within the counted window")
    window_seconds: int = Field(description="The counted window")
    first_join: dt.datetime | None
    last_leave: dt.datetime | None


class SessionBrief(BaseModel):
    id: int
    code: str
    title: str
    kind: Literal["individual", "group", "trial", "assessment"]
    status: Status
    starts_at: dt.datetime | None
    ends_at: dt.datetime | None
    teacher_user_id: int
    group_id: int | None


class ReportOut(BaseModel):
    id: int | None = Field(description="None: no report written for this student yet")
    session: SessionBrief
    student_user_id: int
    attendance: AttendanceOut | None = Field(
        description="None until the session's attendance is computed (after it ends)"
    )
    quran: QuranOut | None
    academic: AcademicOut | None
    homework: HomeworkOut | None
    teacher_notes: str | None
    written_by_user_id: int | None
    updated_by_user_id: int | None
    created_at: dt.datetime | None
    updated_at: dt.datetime | None
