"""The builtin dataset ``toy``: invented people with four facts each (city, instrument, pet, age), written in several
languages from templates. The same people appear in every language (the data is parallel, like
XQuAD) and each split has its own people. For ``xquad`` an example asks one fact about a
person; for ``xlsum`` the facts are the article and one sentence naming the city and the
instrument is the summary. The data is fixed (generated from ``TOY_SEED``); ``Task.load``'s seed
subsamples it like any other dataset.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

TOY_SEED = 0
TOY_SIZE = 400  # people (= examples) per split and language
TOY_SPLITS = ("train", "validation", "test")
FACTS = ("city", "instrument", "pet", "age")

# One block per language. The lists are parallel across languages: item i is the same city,
# instrument or pet in every block. In instruments and pets, [brackets] mark the answer span
# inside the phrase the sentence uses ("the [violin]" -> answer "violin").
TOY_LEXICON: dict[str, dict] = {
    "en": {
        "cities": ["Lisbon", "Munich", "Vienna", "London", "Rome", "Athens", "Warsaw", "Moscow",
                   "Geneva", "Copenhagen", "Prague", "Brussels"],
        "instruments": ["the [violin]", "the [piano]", "the [guitar]", "the [flute]", "the [trumpet]", "the [drums]"],
        "pets": ["a [dog]", "a [cat]", "a [horse]", "a [rabbit]", "a [parrot]", "a [tortoise]"],
        "facts": {"city": "{name} lives in {city}.", "instrument": "{name} plays {instrument}.",
                  "pet": "{name} has {pet}.", "age": "{name} is {age} years old."},
        "questions": {"city": "Where does {name} live?", "instrument": "What instrument does {name} play?",
                      "pet": "What animal does {name} have?", "age": "How old is {name}?"},
        "summary": "{name} from {city} plays {instrument}.",
    },
    "de": {
        "cities": ["Lissabon", "München", "Wien", "London", "Rom", "Athen", "Warschau", "Moskau",
                   "Genf", "Kopenhagen", "Prag", "Brüssel"],
        "instruments": ["[Geige]", "[Klavier]", "[Gitarre]", "[Flöte]", "[Trompete]", "[Schlagzeug]"],
        "pets": ["einen [Hund]", "eine [Katze]", "ein [Pferd]", "ein [Kaninchen]", "einen [Papagei]",
                 "eine [Schildkröte]"],
        "facts": {"city": "{name} wohnt in {city}.", "instrument": "{name} spielt {instrument}.",
                  "pet": "{name} hat {pet}.", "age": "{name} ist {age} Jahre alt."},
        "questions": {"city": "Wo wohnt {name}?", "instrument": "Welches Instrument spielt {name}?",
                      "pet": "Welches Tier hat {name}?", "age": "Wie alt ist {name}?"},
        "summary": "{name} aus {city} spielt {instrument}.",
    },
    "es": {
        "cities": ["Lisboa", "Múnich", "Viena", "Londres", "Roma", "Atenas", "Varsovia", "Moscú",
                   "Ginebra", "Copenhague", "Praga", "Bruselas"],
        "instruments": ["el [violín]", "el [piano]", "la [guitarra]", "la [flauta]", "la [trompeta]", "la [batería]"],
        "pets": ["un [perro]", "un [gato]", "un [caballo]", "un [conejo]", "un [loro]", "una [tortuga]"],
        "facts": {"city": "{name} vive en {city}.", "instrument": "{name} toca {instrument}.",
                  "pet": "{name} tiene {pet}.", "age": "{name} tiene {age} años."},
        "questions": {"city": "¿Dónde vive {name}?", "instrument": "¿Qué instrumento toca {name}?",
                      "pet": "¿Qué animal tiene {name}?", "age": "¿Cuántos años tiene {name}?"},
        "summary": "{name}, de {city}, toca {instrument}.",
    },
    "fr": {
        "cities": ["Lisbonne", "Munich", "Vienne", "Londres", "Rome", "Athènes", "Varsovie", "Moscou",
                   "Genève", "Copenhague", "Prague", "Bruxelles"],
        "instruments": ["du [violon]", "du [piano]", "de la [guitare]", "de la [flûte]", "de la [trompette]",
                        "de la [batterie]"],
        "pets": ["un [chien]", "un [chat]", "un [cheval]", "un [lapin]", "un [perroquet]", "une [tortue]"],
        "facts": {"city": "{name} habite à {city}.", "instrument": "{name} joue {instrument}.",
                  "pet": "{name} a {pet}.", "age": "{name} a {age} ans."},
        "questions": {"city": "Où habite {name} ?", "instrument": "De quel instrument joue {name} ?",
                      "pet": "Quel animal a {name} ?", "age": "Quel âge a {name} ?"},
        "summary": "{name}, qui habite à {city}, joue {instrument}.",
    },
    "pt": {
        "cities": ["Lisboa", "Munique", "Viena", "Londres", "Roma", "Atenas", "Varsóvia", "Moscou",
                   "Genebra", "Copenhaga", "Praga", "Bruxelas"],
        "instruments": ["[violino]", "[piano]", "[guitarra]", "[flauta]", "[trompete]", "[bateria]"],
        "pets": ["um [cão]", "um [gato]", "um [cavalo]", "um [coelho]", "um [papagaio]", "uma [tartaruga]"],
        "facts": {"city": "{name} mora em {city}.", "instrument": "{name} toca {instrument}.",
                  "pet": "{name} tem {pet}.", "age": "{name} tem {age} anos."},
        "questions": {"city": "Onde mora {name}?", "instrument": "Que instrumento toca {name}?",
                      "pet": "Que animal tem {name}?", "age": "Quantos anos tem {name}?"},
        "summary": "{name}, de {city}, toca {instrument}.",
    },
    "id": {
        "cities": ["Lisboa", "München", "Wina", "London", "Roma", "Athena", "Warsawa", "Moskwa",
                   "Jenewa", "Kopenhagen", "Praha", "Brussel"],
        "instruments": ["[biola]", "[piano]", "[gitar]", "[seruling]", "[trompet]", "[drum]"],
        "pets": ["seekor [anjing]", "seekor [kucing]", "seekor [kuda]", "seekor [kelinci]", "seekor [burung beo]",
                 "seekor [kura-kura]"],
        "facts": {"city": "{name} tinggal di {city}.", "instrument": "{name} bermain {instrument}.",
                  "pet": "{name} memiliki {pet}.", "age": "{name} berusia {age} tahun."},
        "questions": {"city": "Di mana {name} tinggal?", "instrument": "Alat musik apa yang dimainkan {name}?",
                      "pet": "Hewan apa yang dimiliki {name}?", "age": "Berapa umur {name}?"},
        "summary": "{name} dari {city} bermain {instrument}.",
    },
}
TOY_LANGUAGES = tuple(TOY_LEXICON)


@dataclass(frozen=True)
class Person:
    """One invented person: indices into the lexicon lists, so every language renders the same facts."""

    name: str
    city: int
    instrument: int
    pet: int
    age: int
    fact_order: tuple[str, ...]  # the order the article states the facts in
    asked: str  # the fact the QA example asks about


@lru_cache(maxsize=1)
def toy_people() -> tuple[Person, ...]:
    """All toy people, ``TOY_SIZE`` per split in ``TOY_SPLITS`` order, with distinct names."""
    rng = random.Random(TOY_SEED)
    lexicon = TOY_LEXICON["en"]
    # Taken names; seeding with the city names keeps a person from being called "Roma".
    names = {city.lower() for block in TOY_LEXICON.values() for city in block["cities"]}
    people = []
    while len(people) < TOY_SIZE * len(TOY_SPLITS):
        name = "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(2, 3)))
        if name in names:
            continue
        names.add(name)
        people.append(Person(
            name=name.capitalize(),
            city=rng.randrange(len(lexicon["cities"])),
            instrument=rng.randrange(len(lexicon["instruments"])),
            pet=rng.randrange(len(lexicon["pets"])),
            age=rng.randint(18, 90),
            fact_order=tuple(rng.sample(FACTS, len(FACTS))),
            asked=rng.choice(FACTS),
        ))
    return tuple(people)


def _phrase_and_answer(marked: str) -> tuple[str, str]:
    """("the [violin]") -> ("the violin", "violin")."""
    start, end = marked.index("["), marked.index("]")
    return marked.replace("[", "").replace("]", ""), marked[start + 1:end]


def _render(person: Person, lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """The words filling the templates for ``person`` in ``lang``, and the answer to each fact."""
    lexicon = TOY_LEXICON[lang]
    instrument, instrument_answer = _phrase_and_answer(lexicon["instruments"][person.instrument])
    pet, pet_answer = _phrase_and_answer(lexicon["pets"][person.pet])
    city = lexicon["cities"][person.city]
    words = {"name": person.name, "city": city, "instrument": instrument, "pet": pet, "age": str(person.age)}
    answers = {"city": city, "instrument": instrument_answer, "pet": pet_answer, "age": str(person.age)}
    return words, answers


def toy_rows(task: str, lang: str, split: str) -> list[dict[str, Any]]:
    """The ``toy`` rows of ``task`` ("xquad" or "xlsum") in ``lang`` for ``split``, in the columns
    of that task's hub dataset."""
    if lang not in TOY_LEXICON:
        raise ValueError(f"builtin dataset 'toy' has no language {lang!r}; it has: {', '.join(TOY_LANGUAGES)}")
    if split not in TOY_SPLITS:
        raise ValueError(f"builtin dataset 'toy' has no split {split!r}; it has: {', '.join(TOY_SPLITS)}")
    if task not in ("xquad", "xlsum"):
        raise ValueError(f"builtin dataset 'toy' has no data for task {task!r}; it has: xquad, xlsum")
    lexicon = TOY_LEXICON[lang]
    first = TOY_SPLITS.index(split) * TOY_SIZE
    rows = []
    for i, person in enumerate(toy_people()[first:first + TOY_SIZE]):
        words, answers = _render(person, lang)
        article = " ".join(lexicon["facts"][fact].format(**words) for fact in person.fact_order)
        if task == "xquad":
            # The bare answer first (training target); the phrase with its article is accepted too.
            texts = list(dict.fromkeys([answers[person.asked], words[person.asked]]))
            rows.append({"id": f"toy-{split}-{i}", "context": article,
                         "question": lexicon["questions"][person.asked].format(**words),
                         "answers": {"text": texts, "answer_start": [article.find(t) for t in texts]}})
        else:
            rows.append({"id": f"toy-{split}-{i}", "text": article, "summary": lexicon["summary"].format(**words)})
    return rows
