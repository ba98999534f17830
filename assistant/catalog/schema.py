"""Pydantic schema for catalog entries.

Every citizen-facing text exists in Korean and English; the schema refuses an entry
that lacks either, so a language can never silently fall back to the other. Every entry
names its sources (official pages: the law at law.go.kr, Gov24, 복지로, the agency's
own site) and who reviewed it when, so a reviewer can trace each fact.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Language = Literal["ko", "en"]
LANGUAGES: tuple[Language, ...] = ("ko", "en")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(_Strict):
    """One text in both languages."""

    ko: str = Field(min_length=1)
    en: str = Field(min_length=1)

    def get(self, language: Language) -> str:
        """The text in ``language``."""
        return self.ko if language == "ko" else self.en


class LocalizedList(_Strict):
    """A list of texts in both languages (e.g. required documents)."""

    ko: list[str]
    en: list[str]

    def get(self, language: Language) -> list[str]:
        """The list in ``language``."""
        return self.ko if language == "ko" else self.en


class Deadline(_Strict):
    """A legal deadline, counted from an event (e.g. 14 days from moving).

    ``kind``: "report" is a duty to report (late, a fine may follow: move-in, birth);
    "claim" is a window to claim a benefit or a right (late, it may be lost or smaller:
    postpartum help, renouncing an inheritance). The reminders say which after the day.
    """

    amount: int = Field(gt=0)
    unit: Literal["day", "month"]
    from_: Localized = Field(alias="from")
    kind: Literal["report", "claim"]

    def describe(self, language: Language) -> str:
        """Plain-language wording, e.g. "이사한 날부터 14일 안"."""
        if language == "ko":
            span = f"{self.amount}일" if self.unit == "day" else f"{self.amount}개월"
            return f"{self.from_.ko}부터 {span} 안"
        unit = self.unit if self.amount == 1 else f"{self.unit}s"
        return f"within {self.amount} {unit} of {self.from_.en}"


SourceKind = Literal[
    "law",  # the legal basis on law.go.kr (국가법령정보센터)
    "gov24",  # Gov24 (정부24), with its service id where one exists
    "bokjiro",  # 복지로, the welfare portal
    "agency",  # the responsible agency's own site
]

# Official sites only: Korean government (.go.kr, and Gov24 at www.gov.kr) and public
# institutions (.or.kr); written without spaces (a law's name has them: %20).
_OFFICIAL_URL = r"^https://(([a-z0-9-]+\.)+(go|or)\.kr|www\.gov\.kr)(/\S*)?$"


class Source(_Strict):
    """An official page a catalog entry's facts come from."""

    kind: SourceKind
    title: str = Field(min_length=1)
    url: str = Field(pattern=_OFFICIAL_URL)
    gov24_id: str | None = Field(None, pattern=r"^[0-9A-Z]+$")

    @model_validator(mode="after")
    def _law_by_its_name(self) -> Source:
        # A law's page is addressed by its exact name, so the two cannot drift apart.
        if self.kind == "law" and self.url != law_url(self.title):
            raise ValueError(f"a law's url is {law_url(self.title)} (from its title)")
        return self


def law_url(name: str) -> str:
    """A law's page on the national law information centre, by its exact name."""
    return f"https://www.law.go.kr/법령/{name.replace(' ', '%20')}"


_PER_KO = {"month": "월 ", "year": "연 ", "once": "", "copy": "1통 "}
_PER_EN = {"month": " a month", "year": " a year", "once": "", "copy": " a copy"}
_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()


class Amount(_Strict):
    """A sum a service pays or costs, in won, and the day it applies from: amounts
    change yearly, so each says which year's it is (issue 20, item 1)."""

    what: Localized  # whose or which sum: "혼자 사는 분 (가장 많이 받을 때)"
    won: int = Field(gt=0)
    per: Literal["month", "year", "once", "copy"]
    effective: dt.date  # the day this sum applies from

    def describe(self, language: Language) -> str:
        """ "혼자 사는 분: 월 342,510원 (2025년 1월부터)" / "Living alone: 342,510 won a
        month (from January 2025)"."""
        when = self.effective
        if language == "ko":
            return (
                f"{self.what.ko}: {_PER_KO[self.per]}{self.won:,}원 "
                f"({when.year}년 {when.month}월 기준)"
            )
        return (
            f"{self.what.en}: {self.won:,} won{_PER_EN[self.per]} "
            f"(as of {_MONTHS_EN[when.month - 1]} {when.year})"
        )


ApplyChannel = Literal[
    "gov24",  # Gov24 (정부24) website or app
    "community_centre",  # 행정복지센터 (주민센터)
    "mobile",  # a mobile app or mobile ID service
    "proxy",  # someone else can apply on the citizen's behalf
    "kiosk",  # self-service kiosk (무인민원발급기)
    "phone",  # a help line
    "post",  # by post, or delivered by postal workers
    "agency_office",  # the responsible agency's own office (e.g. NPS branch)
    "hospital",  # at the hospital (e.g. birth reports)
    "online_other",  # another official website (e.g. 복지로, 대법원 전자가족관계등록시스템)
]
LifeEvent = Literal["moving", "birth", "death", "turning_65", "new_disability"]
TargetGroup = Literal["everyone", "disabled", "mothers_newborns", "elderly"]


class Service(_Strict):
    """One civil service as citizens meet it."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: Localized
    aliases: LocalizedList
    summary: Localized
    # A short form for SMS and voice (fits two SMS segments); `summary` and the other
    # fields make the fuller answer for the web.
    short: Localized
    who_can_apply: Localized
    documents: LocalizedList
    fee: Localized
    # The sums, with the year they apply to, where they were checked against a source
    # (README, "Knowledge and understanding"); the fee text stays for everything else.
    amounts: list[Amount] = Field(default_factory=list)
    how_to_apply: Localized
    processing_time: Localized
    deadline: Deadline | None = None
    channels: list[ApplyChannel] = Field(min_length=1)
    life_events: list[LifeEvent] = Field(default_factory=list)
    target_groups: list[TargetGroup] = Field(min_length=1)
    accessibility: Localized | None = None
    sources: list[Source] = Field(min_length=1)
    reviewed: dt.date
    reviewed_by: str = Field(min_length=1)

    @field_validator("aliases")
    @classmethod
    def _aliases_present(cls, value: LocalizedList) -> LocalizedList:
        if not value.ko or not value.en:
            raise ValueError("a service needs the names citizens use in both languages")
        return value

    def cost(self, language: Language) -> str:
        """The fee text, then each amount with the year it applies to."""
        return " ".join(
            [self.fee.get(language), *(a.describe(language) + "." for a in self.amounts)]
        )

    @field_validator("documents")
    @classmethod
    def _documents_parallel(cls, value: LocalizedList) -> LocalizedList:
        if len(value.ko) != len(value.en):
            raise ValueError("documents must list the same items in Korean and English")
        return value


class PackageStep(_Strict):
    """One service in a life-event checklist, with an optional note for this event."""

    service: str
    note: Localized | None = None


class Package(_Strict):
    """A Civil Service Package: everything one life event needs, across agencies."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    life_event: LifeEvent
    name: Localized
    aliases: LocalizedList
    summary: Localized
    steps: list[PackageStep] = Field(min_length=2)
    sources: list[Source] = Field(min_length=1)
    reviewed: dt.date
    reviewed_by: str = Field(min_length=1)
