"""The Quran's structure and the checks on recorded passages (pure)."""

from __future__ import annotations

import pytest

from halaqa.evaluations import quran
from halaqa.evaluations.quran import PassageError, check_passage


def test_114_surahs_6236_ayahs() -> None:
    assert quran.SURAH_COUNT == 114
    assert [s.number for s in quran.SURAHS] == list(range(1, 115))
    assert sum(s.ayahs for s in quran.SURAHS) == quran.AYAH_TOTAL == 6236
    assert quran.LONGEST_SURAH == 286


@pytest.mark.parametrize(
    ("number", "name_en", "name_ar", "ayahs"),
    [
        (1, "Al-Fatiha", "الفاتحة", 7),
        (2, "Al-Baqarah", "البقرة", 286),
        (3, "Al Imran", "آل عمران", 200),
        (9, "At-Tawbah", "التوبة", 129),
        (18, "Al-Kahf", "الكهف", 110),
        (26, "Ash-Shu'ara", "الشعراء", 227),
        (36, "Ya-Sin", "يس", 83),
        (55, "Ar-Rahman", "الرحمن", 78),
        (67, "Al-Mulk", "الملك", 30),
        (78, "An-Naba", "النبأ", 40),
        (103, "Al-'Asr", "العصر", 3),
        (108, "Al-Kawthar", "الكوثر", 3),
        (112, "Al-Ikhlas", "الإخلاص", 4),
        (114, "An-Nas", "الناس", 6),
    ],
)
def test_known_surahs(number: int, name_en: str, name_ar: str, ayahs: int) -> None:
    surah = quran.surah(number)
    assert (surah.number, surah.name_en, surah.name_ar, surah.ayahs) == (
        number,
        name_en,
        name_ar,
        ayahs,
    )


def test_every_surah_has_both_names_once() -> None:
    assert all(s.name_ar and s.name_en for s in quran.SURAHS)
    assert len({s.name_ar for s in quran.SURAHS}) == 114
    assert len({s.name_en for s in quran.SURAHS}) == 114


@pytest.mark.parametrize("number", [0, -1, 115, 1000])
def test_no_such_surah(number: int) -> None:
    with pytest.raises(ValueError, match=f"there is no surah {number}"):
        quran.surah(number)


@pytest.mark.parametrize(
    ("surah", "ayah", "place"),
    [(1, 1, 1), (1, 7, 7), (2, 1, 8), (2, 286, 293), (3, 1, 294), (114, 1, 6231), (114, 6, 6236)],
)
def test_position_in_the_whole_quran(surah: int, ayah: int, place: int) -> None:
    assert quran.position(surah, ayah) == place


# (from_surah, from_ayah, to_surah, to_ayah, from_page, to_page) -> ayahs, pages
GOOD = [
    ((1, 1, 1, 7, 1, None), 7, 1),  # Al-Fatiha on its page
    ((2, 1, 2, 286, 2, 49), 286, 48),
    ((2, 255, 2, 255, None, None), 1, None),  # one ayah
    ((67, 1, 68, 52, 562, 566), 82, 5),  # Al-Mulk and Al-Qalam: across surahs
    ((78, 1, 114, 6, 582, 604), 564, 23),  # Juz' 'Amma
    ((1, 1, 114, 6, 1, 604), 6236, 604),  # the whole Quran
]


@pytest.mark.parametrize(("given", "ayahs", "pages"), GOOD)
def test_passages_the_quran_has(
    given: tuple[int, int, int, int, int | None, int | None], ayahs: int, pages: int | None
) -> None:
    passage = check_passage(*given)
    assert (passage.ayahs, passage.pages) == (ayahs, pages)


BAD = [
    ((0, 1, 1, 7, None, None), "from_surah", "there is no surah 0"),
    ((115, 1, 115, 2, None, None), "from_surah", "there is no surah 115"),
    ((1, 300, 1, 301, None, None), "from_ayah", "Al-Fatiha (surah 1) has 7 ayahs"),
    ((1, 0, 1, 7, None, None), "from_ayah", "there is no ayah 0"),
    ((1, 1, 115, 1, None, None), "to_surah", "there is no surah 115"),
    ((1, 1, 1, 300, None, None), "to_ayah", "Al-Fatiha (surah 1) has 7 ayahs"),
    ((114, 1, 114, 7, None, None), "to_ayah", "An-Nas (surah 114) has 6 ayahs"),
    ((2, 287, 3, 1, None, None), "from_ayah", "Al-Baqarah (surah 2) has 286 ayahs"),
    ((2, 10, 2, 5, None, None), "to_ayah", "ends (2:5) before it starts (2:10)"),
    ((3, 1, 2, 286, None, None), "to_surah", "ends in surah 2, before surah 3"),
    ((1, 1, 1, 7, 0, None), "from_page", "there is no page 0"),
    ((1, 1, 1, 7, 605, None), "from_page", "there is no page 605"),
    ((1, 1, 1, 7, 1, 605), "to_page", "there is no page 605"),
    ((1, 1, 1, 7, None, 2), "to_page", "a last page needs a first one"),
    ((2, 1, 2, 5, 3, 2), "to_page", "the last page (2) comes before the first (3)"),
]


@pytest.mark.parametrize(("given", "field", "message"), BAD)
def test_passages_the_quran_does_not_have(
    given: tuple[int, int, int, int, int | None, int | None], field: str, message: str
) -> None:
    with pytest.raises(PassageError) as refused:
        check_passage(*given)
    assert refused.value.field == field
    assert message in refused.value.message
