"""Cut the small XQuAD and SQuAD slices in tests/data/ from the full files.

    python tests/data/make_slices.py /path/to/shared/data

reads ``xquad/xquad.<lang>.json`` and ``squad/squad_v1.1_en_{train,val}_sample.json`` under the
folder given and rewrites ``tests/data/xquad/`` and ``tests/data/squad/`` beside this script.

Every slice is cut the same way: of the articles in file order, keep every ``step``-th one
(indexes 0, step, 2*step, ...), and of each kept article only its first paragraph, whole, with all
of its questions and answers. Titles, contexts, questions, ids and answers are copied unchanged;
only the JSON layout differs (UTF-8 text instead of \\u escapes, one-space indent). XQuAD is cut
with the same rule in every language, so the slices stay parallel (checked: same ids in the same
order).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
XQUAD_LANGUAGES = ("ar", "de", "en", "es", "ru", "zh")
XQUAD_STEP = 5  # 10 of the 48 articles: articles 0, 5, ..., 45
SQUAD_STEPS = {"train": 1, "val": 2}  # train: all 44 articles; val: 16 of the 32


def cut(document: dict, step: int) -> dict:
    """``document`` with every ``step``-th article, each reduced to its first paragraph."""
    articles = [
        {**article, "paragraphs": article["paragraphs"][:1]}
        for index, article in enumerate(document["data"])
        if index % step == 0
    ]
    return {**document, "data": articles}


def question_ids(document: dict) -> list[str]:
    return [qa["id"] for article in document["data"] for paragraph in article["paragraphs"] for qa in paragraph["qas"]]


def write(document: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{path.relative_to(HERE)}: {len(document['data'])} articles, {len(question_ids(document))} questions")


def main(source: Path) -> None:
    english_ids = None
    for lang in XQUAD_LANGUAGES:
        full = json.loads((source / "xquad" / f"xquad.{lang}.json").read_text(encoding="utf-8"))
        piece = cut(full, XQUAD_STEP)
        ids = question_ids(piece)
        if english_ids is None:
            english_ids = ids
        elif ids != english_ids:
            raise SystemExit(f"xquad.{lang}.json: the slice's question ids differ from the first language's")
        write(piece, HERE / "xquad" / f"xquad.{lang}.json")
    for split, step in SQUAD_STEPS.items():
        name = f"squad_v1.1_en_{split}_sample.json"
        full = json.loads((source / "squad" / name).read_text(encoding="utf-8"))
        write(cut(full, step), HERE / "squad" / name)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    main(Path(sys.argv[1]))
