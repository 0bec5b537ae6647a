"""The builtin dataset ``lab``, the miniature lab's world: invented people with five facts
each, written in five languages.

Everything is a pure function of a seed. The same people appear in every language (the text is
parallel); each task split has its own people. The lab's "web text" (the pretraining corpus)
is paragraphs about every person in every language; some open with a summary-shaped sentence,
but only about people of the training split, so the pretrained model never saw a held-out label.

The ``xlsum`` task: an article of 3-5 shuffled facts about one person (always the city and the
instrument) -> the one-sentence summary naming both, in the article's language.

Words are chosen so that a word-level tokenizer that splits whitespace and punctuation can
write every text back exactly: no apostrophes, hyphens or dashes, and punctuation only at the
end of a word (",", ".").
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

LAB_SEED = 0
LAB_LANGUAGES = ("en", "de", "es", "fr", "ru")
SPLIT_SIZES = {"train": 600, "validation": 200, "test": 200}  # people per split
FACTS = ("city", "instrument", "pet", "age", "colour")
SUMMARY_SHARE = 0.9  # share of training people's pretraining paragraphs that open with the summary

# Parallel lists: item i is the same city, instrument, pet or colour in every language. The
# phrases are written in the form their sentence needs (Russian instruments in the
# prepositional case after "играет на").
LEXICON: dict[str, dict] = {
    "en": {
        "cities": ["Lisbon", "Munich", "Vienna", "London", "Rome", "Athens", "Warsaw", "Moscow",
                   "Geneva", "Copenhagen", "Prague", "Brussels"],
        "instruments": ["the violin", "the piano", "the guitar", "the flute", "the trumpet", "the drums"],
        "pets": ["a dog", "a cat", "a horse", "a rabbit", "a parrot", "a tortoise"],
        "colours": ["blue", "red", "green", "yellow", "black", "white"],
        "facts": {"city": "{name} lives in {city}.", "instrument": "{name} plays {instrument}.",
                  "pet": "{name} has {pet}.", "age": "{name} is {age} years old.",
                  "colour": "The favourite colour of {name} is {colour}."},
        "summary": "{name} from {city} plays {instrument}.",
    },
    "de": {
        "cities": ["Lissabon", "München", "Wien", "London", "Rom", "Athen", "Warschau", "Moskau",
                   "Genf", "Kopenhagen", "Prag", "Brüssel"],
        "instruments": ["Geige", "Klavier", "Gitarre", "Flöte", "Trompete", "Schlagzeug"],
        "pets": ["einen Hund", "eine Katze", "ein Pferd", "ein Kaninchen", "einen Papagei", "eine Schildkröte"],
        "colours": ["Blau", "Rot", "Grün", "Gelb", "Schwarz", "Weiß"],
        "facts": {"city": "{name} wohnt in {city}.", "instrument": "{name} spielt {instrument}.",
                  "pet": "{name} hat {pet}.", "age": "{name} ist {age} Jahre alt.",
                  "colour": "Die Lieblingsfarbe von {name} ist {colour}."},
        "summary": "{name} aus {city} spielt {instrument}.",
    },
    "es": {
        "cities": ["Lisboa", "Múnich", "Viena", "Londres", "Roma", "Atenas", "Varsovia", "Moscú",
                   "Ginebra", "Copenhague", "Praga", "Bruselas"],
        "instruments": ["el violín", "el piano", "la guitarra", "la flauta", "la trompeta", "la batería"],
        "pets": ["un perro", "un gato", "un caballo", "un conejo", "un loro", "una tortuga"],
        "colours": ["azul", "rojo", "verde", "amarillo", "negro", "blanco"],
        "facts": {"city": "{name} vive en {city}.", "instrument": "{name} toca {instrument}.",
                  "pet": "{name} tiene {pet}.", "age": "{name} tiene {age} años.",
                  "colour": "El color favorito de {name} es el {colour}."},
        "summary": "{name}, de {city}, toca {instrument}.",
    },
    "fr": {
        "cities": ["Lisbonne", "Munich", "Vienne", "Londres", "Rome", "Athènes", "Varsovie", "Moscou",
                   "Genève", "Copenhague", "Prague", "Bruxelles"],
        "instruments": ["du violon", "du piano", "de la guitare", "de la flûte", "de la trompette",
                        "de la batterie"],
        "pets": ["un chien", "un chat", "un cheval", "un lapin", "un perroquet", "une tortue"],
        "colours": ["bleu", "rouge", "vert", "jaune", "noir", "blanc"],
        "facts": {"city": "{name} habite à {city}.", "instrument": "{name} joue {instrument}.",
                  "pet": "{name} a {pet}.", "age": "{name} a {age} ans.",
                  "colour": "La couleur préférée de {name} est le {colour}."},
        "summary": "{name}, qui habite à {city}, joue {instrument}.",
    },
    "ru": {
        "cities": ["Лиссабон", "Мюнхен", "Вена", "Лондон", "Рим", "Афины", "Варшава", "Москва",
                   "Женева", "Копенгаген", "Прага", "Брюссель"],
        "instruments": ["скрипке", "пианино", "гитаре", "флейте", "трубе", "барабанах"],
        "pets": ["собака", "кошка", "лошадь", "кролик", "попугай", "черепаха"],
        "colours": ["синий", "красный", "зелёный", "жёлтый", "чёрный", "белый"],
        "facts": {"city": "{name} живёт в городе {city}.", "instrument": "{name} играет на {instrument}.",
                  "pet": "У {name} есть {pet}.", "age": "{name} сейчас {age} {years}.",
                  "colour": "Любимый цвет {name} это {colour}."},
        "summary": "{name} из города {city} играет на {instrument}.",
    },
}
# Russian names are written in Cyrillic, as a Russian text would; the others share Latin ones.
_CYRILLIC = {"b": "б", "d": "д", "f": "ф", "g": "г", "k": "к", "l": "л", "m": "м", "n": "н", "p": "п",
             "r": "р", "s": "с", "t": "т", "v": "в", "z": "з", "a": "а", "e": "е", "i": "и", "o": "о", "u": "у"}


@dataclass(frozen=True)
class LabPerson:
    """One invented person: indices into the lexicon lists, so every language states the same facts."""

    name: str
    city: int
    instrument: int
    pet: int
    age: int
    colour: int
    article_facts: tuple[str, ...]  # the facts the task article states, in its order


def _name_in(name: str, lang: str) -> str:
    if lang != "ru":
        return name
    return "".join(_CYRILLIC[c] for c in name.lower()).capitalize()


@lru_cache(maxsize=4)
def lab_people(seed: int = LAB_SEED) -> tuple[LabPerson, ...]:
    """All people of the world for ``seed``: the splits' people in ``SPLIT_SIZES`` order."""
    rng = random.Random(seed)
    en = LEXICON["en"]
    taken = {city.lower() for block in LEXICON.values() for city in block["cities"]}
    people = []
    while len(people) < sum(SPLIT_SIZES.values()):
        name = "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 3)))
        if name in taken:
            continue
        taken.add(name)
        others = [f for f in FACTS if f not in ("city", "instrument")]
        facts = ["city", "instrument", *rng.sample(others, rng.randint(1, len(others)))]
        rng.shuffle(facts)
        people.append(LabPerson(name.capitalize(), rng.randrange(len(en["cities"])),
                                rng.randrange(len(en["instruments"])), rng.randrange(len(en["pets"])),
                                rng.randint(18, 90), rng.randrange(len(en["colours"])), tuple(facts)))
    return tuple(people)


def split_people(split: str, seed: int = LAB_SEED) -> tuple[LabPerson, ...]:
    if split not in SPLIT_SIZES:
        raise ValueError(f"builtin dataset 'lab' has no split {split!r}; it has: {', '.join(SPLIT_SIZES)}")
    start = 0
    for name, size in SPLIT_SIZES.items():
        if name == split:
            return lab_people(seed)[start:start + size]
        start += size
    raise AssertionError("unreachable")


def _words(person: LabPerson, lang: str) -> dict[str, str]:
    lexicon = LEXICON[lang]
    return {"name": _name_in(person.name, lang), "city": lexicon["cities"][person.city],
            "instrument": lexicon["instruments"][person.instrument], "pet": lexicon["pets"][person.pet],
            "age": str(person.age), "colour": lexicon["colours"][person.colour],
            "years": _russian_years(person.age)}


def _russian_years(age: int) -> str:
    """год / года / лет: the form Russian uses after the number ``age``."""
    if age % 10 == 1 and age % 100 != 11:
        return "год"
    if age % 10 in (2, 3, 4) and age % 100 not in (12, 13, 14):
        return "года"
    return "лет"


def fact_sentence(person: LabPerson, lang: str, fact: str) -> str:
    return LEXICON[lang]["facts"][fact].format(**_words(person, lang))


def summary_sentence(person: LabPerson, lang: str) -> str:
    return LEXICON[lang]["summary"].format(**_words(person, lang))


def article(person: LabPerson, lang: str, facts: tuple[str, ...] | None = None) -> str:
    return " ".join(fact_sentence(person, lang, f) for f in (facts or person.article_facts))


def lab_rows(task: str, lang: str, split: str, seed: int = LAB_SEED) -> list[dict[str, Any]]:
    """The builtin dataset ``lab``: ``xlsum`` rows (``id, text, summary``: article -> summary) of
    ``split`` in ``lang``."""
    if task != "xlsum":
        raise ValueError(f"builtin dataset 'lab' has data for task xlsum only, not {task!r}")
    if lang not in LEXICON:
        raise ValueError(f"builtin dataset 'lab' has no language {lang!r}; it has: {', '.join(LAB_LANGUAGES)}")
    return [{"id": f"lab-{split}-{i}", "text": article(p, lang), "summary": summary_sentence(p, lang)}
            for i, p in enumerate(split_people(split, seed))]


def pretraining_paragraphs(seed: int = LAB_SEED, per_person: int = 2,
                           languages: tuple[str, ...] = LAB_LANGUAGES,
                           summary_share: float = SUMMARY_SHARE, mixed_share: float = 0.0) -> list[tuple[str, str]]:
    """(language, paragraph) pairs of the lab's unlabeled web text, shuffled.

    Each person gets ``per_person`` paragraphs per language, each with 3-5 of their facts in a
    random order. ``summary_share`` of the paragraphs about training-split people open with the
    summary-shaped sentence (a lead, as a news text or a profile page would). ``mixed_share`` of
    the paragraphs are code-switched, as some web text is: each fact sentence after the first is
    written in the paragraph's language or, with even odds, in one other language drawn for the
    paragraph (the same person, the same facts: what ties one language's words to another's).
    """
    rng = random.Random(seed + 1)
    held_out = {p.name for split in ("validation", "test") for p in split_people(split, seed)}
    paragraphs = []
    for person in lab_people(seed):
        for lang in languages:
            for _ in range(per_person):
                facts = rng.sample(FACTS, rng.randint(3, len(FACTS)))
                lead = person.name not in held_out and rng.random() < summary_share
                langs = [lang] * len(facts)
                if mixed_share and rng.random() < mixed_share:
                    other = rng.choice([l for l in languages if l != lang])
                    langs = [lang] + [other if rng.random() < 0.5 else lang for _ in facts[1:]]
                text = " ".join(([summary_sentence(person, lang)] if lead else [])
                                + [fact_sentence(person, l, f) for l, f in zip(langs, facts)])
                paragraphs.append((lang, text))
    rng.shuffle(paragraphs)
    return paragraphs


def all_names(seed: int = LAB_SEED) -> list[str]:
    """Every person's name in every script the world writes it in."""
    return sorted({_name_in(p.name, lang) for p in lab_people(seed) for lang in LAB_LANGUAGES})


def entity_words() -> list[str]:
    """The words that name a city or an instrument, in every language (an instrument phrase's
    noun, without its article or preposition): what a summary copies from its article besides
    the name."""
    words = set()
    for block in LEXICON.values():
        words.update(block["cities"])
        words.update(phrase.split()[-1] for phrase in block["instruments"])
    return sorted(words)


def all_texts(seed: int = LAB_SEED) -> list[str]:
    """Every sentence the world can write (the tokenizer's vocabulary comes from these)."""
    texts = []
    for person in lab_people(seed):
        for lang in LAB_LANGUAGES:
            texts += [fact_sentence(person, lang, f) for f in FACTS] + [summary_sentence(person, lang)]
    return texts
