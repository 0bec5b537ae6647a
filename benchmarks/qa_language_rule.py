"""How the QA wrong-language rule judges XQuAD's own answers: the label-free rule the sweeps use
(each answer judged with its question and context, never with a reference) against the rule
that judges an answer by its text alone.

    python benchmarks/qa_language_rule.py [FOLDER_WITH_xquad.LANG.json]   # default: tests/data/xquad

Two checks per language, each over every question of the file:

- **gold called wrong**: the language's own gold answers (the first of each question) taken as
  model outputs. A rule that calls them wrong language would stop or reject a model that
  answers perfectly. Target: at most 5% on every language.
- **English called wrong**: the English gold answer of the same question (XQuAD is parallel)
  taken as the output for a non-Latin-script language, i.e. a model that answers in the source
  language. Target: at least 95%, over the answers that hold a letter (a bare number or date is
  in no language and is undetermined, never wrong) and that are not also a gold answer of the
  language's own question (``Lady Gaga`` is the Greek answer too: a right answer, not English).
  The share over every English answer with a letter is printed beside it.

Nothing here is timed; the figures depend on fastText's lid.176 only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from xlsearch.metrics import judge_outputs  # noqa: E402
from xlsearch.scripts import language_scripts  # noqa: E402
from xlsearch.tasks import DataSource, get_task  # noqa: E402

DEFAULT_FOLDER = Path(__file__).resolve().parents[1] / "tests" / "data" / "xquad"


def share(verdicts, verdict: str) -> float:
    return 100.0 * sum(v.verdict == verdict for v in verdicts) / max(1, len(verdicts))


def _same_as_gold(answer: str, example) -> bool:
    """Whether ``answer`` is one of ``example``'s gold answers, case, spaces and punctuation aside."""
    from xlsearch.metrics import multilingual_tokenize

    return any(multilingual_tokenize(answer) == multilingual_tokenize(gold) for gold in example.targets)


def measure(folder: Path) -> list[dict]:
    task = get_task("xquad")
    files = {p.name.split(".")[1]: p for p in sorted(folder.glob("xquad.*.json"))}
    if "en" not in files:
        raise SystemExit(f"{folder}: no xquad.en.json (the English answers are the wrong-language outputs)")
    english = {ex.id: ex.targets[0] for ex in task.load(DataSource(path=str(files["en"])), "en")}
    rows = []
    for lang, path in files.items():
        if lang == "en":
            continue
        examples = task.load(DataSource(path=str(path)), lang)
        gold = [ex.targets[0] for ex in examples]
        inputs = [task.unlabeled_text(ex) for ex in examples]
        alone = judge_outputs(gold, lang)
        with_input = judge_outputs(gold, lang, inputs=inputs)
        row = {"lang": lang, "n": len(examples), "gold wrong, text alone": share(alone, "wrong"),
               "gold wrong, label-free rule": share(with_input, "wrong"),
               "gold undetermined, label-free rule": share(with_input, "undetermined")}
        if "Latn" not in language_scripts(lang):
            pairs = [(english[ex.id], text, _same_as_gold(english[ex.id], ex))
                     for ex, text in zip(examples, inputs)
                     if ex.id in english and any(ch.isalpha() for ch in english[ex.id])]
            verdicts = judge_outputs([e for e, _, _ in pairs], lang, inputs=[t for _, t, _ in pairs])
            row["English wrong (all with a letter)"] = share(verdicts, "wrong")
            row["English wrong (not a gold answer)"] = share([v for v, p in zip(verdicts, pairs) if not p[2]], "wrong")
            row["English: with a letter / also gold"] = f"{len(pairs)} / {sum(p[2] for p in pairs)}"
        rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", default=str(DEFAULT_FOLDER), help="a folder of xquad.LANG.json files")
    folder = Path(parser.parse_args(argv).folder).expanduser()
    rows = measure(folder)
    columns = ["lang", "n", "gold wrong, text alone", "gold wrong, label-free rule",
               "gold undetermined, label-free rule", "English wrong (not a gold answer)",
               "English wrong (all with a letter)", "English: with a letter / also gold"]
    print(f"XQuAD answers judged by the wrong-language rule ({folder}); % of answers")
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    for row in rows:
        cells = [row.get(c, "") for c in columns]
        print("| " + " | ".join(f"{c:.1f}" if isinstance(c, float) else str(c) for c in cells) + " |")
    worst_gold = max(r["gold wrong, label-free rule"] for r in rows)
    english = [r["English wrong (not a gold answer)"] for r in rows if "English wrong (not a gold answer)" in r]
    print(f"gold answers called wrong, worst language: {worst_gold:.1f}% (target <= 5%)")
    if english:
        print(f"English answers to non-Latin-script targets called wrong, worst language: {min(english):.1f}% "
              "(target >= 95%)")


if __name__ == "__main__":
    main()
