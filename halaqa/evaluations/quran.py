"""The Quran as a teacher records progress through it (pure): the 114 surahs of the Madani mushaf
(Hafs ʿan ʿĀṣim, Kufan count: 6236 ayahs on 604 pages), their names in Arabic and in English
transliteration, and the checks a recorded passage must pass.

A passage runs from one ayah to another, both included, and may span surahs (Al-Mulk 1 to
Al-Qalam 52); its end is never before its start. Pages are the teacher's own note of where the
passage lies in the Madani mushaf (1 to 604): they are checked for range and order only, never
against the ayahs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

PAGE_COUNT = 604  # the Madani mushaf (King Fahd Complex)
AYAH_TOTAL = 6236


@dataclass(frozen=True)
class Surah:
    number: int
    name_ar: str
    name_en: str  # transliterated
    ayahs: int


_SURAHS: tuple[tuple[str, str, int], ...] = (
    ("الفاتحة", "Al-Fatiha", 7),
    ("البقرة", "Al-Baqarah", 286),
    ("آل عمران", "Al Imran", 200),
    ("النساء", "An-Nisa", 176),
    ("المائدة", "Al-Ma'idah", 120),
    ("الأنعام", "Al-An'am", 165),
    ("الأعراف", "Al-A'raf", 206),
    ("الأنفال", "Al-Anfal", 75),
    ("التوبة", "At-Tawbah", 129),
    ("يونس", "Yunus", 109),
    ("هود", "Hud", 123),
    ("يوسف", "Yusuf", 111),
    ("الرعد", "Ar-Ra'd", 43),
    ("إبراهيم", "Ibrahim", 52),
    ("الحجر", "Al-Hijr", 99),
    ("النحل", "An-Nahl", 128),
    ("الإسراء", "Al-Isra", 111),
    ("الكهف", "Al-Kahf", 110),
    ("مريم", "Maryam", 98),
    ("طه", "Ta-Ha", 135),
    ("الأنبياء", "Al-Anbiya", 112),
    ("الحج", "Al-Hajj", 78),
    ("المؤمنون", "Al-Mu'minun", 118),
    ("النور", "An-Nur", 64),
    ("الفرقان", "Al-Furqan", 77),
    ("الشعراء", "Ash-Shu'ara", 227),
    ("النمل", "An-Naml", 93),
    ("القصص", "Al-Qasas", 88),
    ("العنكبوت", "Al-'Ankabut", 69),
    ("الروم", "Ar-Rum", 60),
    ("لقمان", "Luqman", 34),
    ("السجدة", "As-Sajdah", 30),
    ("الأحزاب", "Al-Ahzab", 73),
    ("سبأ", "Saba", 54),
    ("فاطر", "Fatir", 45),
    ("يس", "Ya-Sin", 83),
    ("الصافات", "As-Saffat", 182),
    ("ص", "Sad", 88),
    ("الزمر", "Az-Zumar", 75),
    ("غافر", "Ghafir", 85),
    ("فصلت", "Fussilat", 54),
    ("الشورى", "Ash-Shura", 53),
    ("الزخرف", "Az-Zukhruf", 89),
    ("الدخان", "Ad-Dukhan", 59),
    ("الجاثية", "Al-Jathiyah", 37),
    ("الأحقاف", "Al-Ahqaf", 35),
    ("محمد", "Muhammad", 38),
    ("الفتح", "Al-Fath", 29),
    ("الحجرات", "Al-Hujurat", 18),
    ("ق", "Qaf", 45),
    ("الذاريات", "Adh-Dhariyat", 60),
    ("الطور", "At-Tur", 49),
    ("النجم", "An-Najm", 62),
    ("القمر", "Al-Qamar", 55),
    ("الرحمن", "Ar-Rahman", 78),
    ("الواقعة", "Al-Waqi'ah", 96),
    ("الحديد", "Al-Hadid", 29),
    ("المجادلة", "Al-Mujadilah", 22),
    ("الحشر", "Al-Hashr", 24),
    ("الممتحنة", "Al-Mumtahanah", 13),
    ("الصف", "As-Saff", 14),
    ("الجمعة", "Al-Jumu'ah", 11),
    ("المنافقون", "Al-Munafiqun", 11),
    ("التغابن", "At-Taghabun", 18),
    ("الطلاق", "At-Talaq", 12),
    ("التحريم", "At-Tahrim", 12),
    ("الملك", "Al-Mulk", 30),
    ("القلم", "Al-Qalam", 52),
    ("الحاقة", "Al-Haqqah", 52),
    ("المعارج", "Al-Ma'arij", 44),
    ("نوح", "Nuh", 28),
    ("الجن", "Al-Jinn", 28),
    ("المزمل", "Al-Muzzammil", 20),
    ("المدثر", "Al-Muddaththir", 56),
    ("القيامة", "Al-Qiyamah", 40),
    ("الإنسان", "Al-Insan", 31),
    ("المرسلات", "Al-Mursalat", 50),
    ("النبأ", "An-Naba", 40),
    ("النازعات", "An-Nazi'at", 46),
    ("عبس", "'Abasa", 42),
    ("التكوير", "At-Takwir", 29),
    ("الانفطار", "Al-Infitar", 19),
    ("المطففين", "Al-Mutaffifin", 36),
    ("الانشقاق", "Al-Inshiqaq", 25),
    ("البروج", "Al-Buruj", 22),
    ("الطارق", "At-Tariq", 17),
    ("الأعلى", "Al-A'la", 19),
    ("الغاشية", "Al-Ghashiyah", 26),
    ("الفجر", "Al-Fajr", 30),
    ("البلد", "Al-Balad", 20),
    ("الشمس", "Ash-Shams", 15),
    ("الليل", "Al-Layl", 21),
    ("الضحى", "Ad-Duha", 11),
    ("الشرح", "Ash-Sharh", 8),
    ("التين", "At-Tin", 8),
    ("العلق", "Al-'Alaq", 19),
    ("القدر", "Al-Qadr", 5),
    ("البينة", "Al-Bayyinah", 8),
    ("الزلزلة", "Az-Zalzalah", 8),
    ("العاديات", "Al-'Adiyat", 11),
    ("القارعة", "Al-Qari'ah", 11),
    ("التكاثر", "At-Takathur", 8),
    ("العصر", "Al-'Asr", 3),
    ("الهمزة", "Al-Humazah", 9),
    ("الفيل", "Al-Fil", 5),
    ("قريش", "Quraysh", 4),
    ("الماعون", "Al-Ma'un", 7),
    ("الكوثر", "Al-Kawthar", 3),
    ("الكافرون", "Al-Kafirun", 6),
    ("النصر", "An-Nasr", 3),
    ("المسد", "Al-Masad", 5),
    ("الإخلاص", "Al-Ikhlas", 4),
    ("الفلق", "Al-Falaq", 5),
    ("الناس", "An-Nas", 6),
)

SURAHS: tuple[Surah, ...] = tuple(
    Surah(number, name_ar, name_en, ayahs)
    for number, (name_ar, name_en, ayahs) in enumerate(_SURAHS, start=1)
)
SURAH_COUNT = len(SURAHS)
LONGEST_SURAH = max(s.ayahs for s in SURAHS)  # Al-Baqarah: no ayah number is ever above it

# How many ayahs come before each surah: turns (surah, ayah) into its place in the whole Quran.
_BEFORE: tuple[int, ...] = tuple(sum(s.ayahs for s in SURAHS[:i]) for i in range(SURAH_COUNT))


class PassageError(ValueError):
    """A recorded passage the Quran does not have; `field` names what is wrong with it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def surah(number: int) -> Surah:
    """The surah numbered `number` (1 to 114)."""
    if not 1 <= number <= SURAH_COUNT:
        raise ValueError(f"there is no surah {number}: surahs are numbered 1 to {SURAH_COUNT}")
    return SURAHS[number - 1]


def check_ayah(surah_number: int, ayah: int) -> None:
    """Refuses an ayah its surah does not have."""
    found = surah(surah_number)
    if not 1 <= ayah <= found.ayahs:
        raise ValueError(
            f"{found.name_en} (surah {found.number}) has {found.ayahs} ayahs; "
            f"there is no ayah {ayah} in it"
        )


def position(surah_number: int, ayah: int) -> int:
    """The ayah's place in the whole Quran, 1 (Al-Fatiha 1) to 6236 (An-Nas 6)."""
    check_ayah(surah_number, ayah)
    return _BEFORE[surah_number - 1] + ayah


def check_surah_order(from_surah: int, to_surah: int) -> None:
    """Refuses a passage that ends in a surah before the one it starts in."""
    if to_surah < from_surah:
        raise ValueError(
            f"the passage ends in surah {to_surah}, before surah {from_surah} where it starts; "
            "give its first ayah first"
        )


def check_order(from_surah: int, from_ayah: int, to_surah: int, to_ayah: int) -> None:
    """Refuses a passage that ends before it starts."""
    if (to_surah, to_ayah) < (from_surah, from_ayah):
        raise ValueError(
            f"the passage ends ({to_surah}:{to_ayah}) before it starts "
            f"({from_surah}:{from_ayah}); give its first ayah first"
        )


def check_page(page: int) -> None:
    if not 1 <= page <= PAGE_COUNT:
        raise ValueError(f"there is no page {page}: the Madani mushaf has pages 1 to {PAGE_COUNT}")


def check_pages(from_page: int | None, to_page: int | None) -> None:
    """Pages are optional; a last page needs a first one, and comes no earlier."""
    if to_page is None:
        return
    if from_page is None:
        raise ValueError("give from_page too: a last page needs a first one")
    if to_page < from_page:
        raise ValueError(f"the last page ({to_page}) comes before the first ({from_page})")


@dataclass(frozen=True)
class Passage:
    """A checked passage: from one ayah to another (both included), with the pages the teacher
    gave, if any."""

    from_surah: int
    from_ayah: int
    to_surah: int
    to_ayah: int
    from_page: int | None = None
    to_page: int | None = None

    @property
    def ayahs(self) -> int:
        """How many ayahs it holds."""
        end = position(self.to_surah, self.to_ayah)
        return end - position(self.from_surah, self.from_ayah) + 1

    @property
    def pages(self) -> int | None:
        """How many pages it covers, as the teacher gave them."""
        if self.from_page is None:
            return None
        return (self.to_page or self.from_page) - self.from_page + 1


def _at(field: str, check: Callable[..., object], *args: int | None) -> None:
    try:
        check(*args)
    except ValueError as error:
        raise PassageError(field, str(error)) from None


def check_passage(
    from_surah: int,
    from_ayah: int,
    to_surah: int,
    to_ayah: int,
    from_page: int | None = None,
    to_page: int | None = None,
) -> Passage:
    """The passage, if the Quran has it; else PassageError naming the first field at fault."""
    _at("from_surah", surah, from_surah)
    _at("from_ayah", check_ayah, from_surah, from_ayah)
    _at("to_surah", surah, to_surah)
    _at("to_surah", check_surah_order, from_surah, to_surah)
    _at("to_ayah", check_ayah, to_surah, to_ayah)
    _at("to_ayah", check_order, from_surah, from_ayah, to_surah, to_ayah)
    if from_page is not None:
        _at("from_page", check_page, from_page)
    if to_page is not None:
        _at("to_page", check_page, to_page)
        _at("to_page", check_pages, from_page, to_page)
    return Passage(from_surah, from_ayah, to_surah, to_ayah, from_page, to_page)
