"""The lab's tokenizer: one token per word or punctuation mark of the world, except names.

Sequences are ~5x shorter than with bytes, which is what lets the lab's model pretrain in
minutes on a CPU. Names are the exception: as whole-word tokens, each seen only in a few
paragraphs, the model did not learn to copy them (it wrote names it had memorised from the
training people, exact match 0), so names are written in two-letter syllable pieces
(``Megini`` -> ``Me ##gi ##ni``, as a real subword tokenizer would), which every name shares
and the model learns to copy. Single-letter pieces back them up, so no name is ever unknown.

Decoding glues ``##`` pieces to the word before, joins words with spaces and puts none before
"." or "," (the WordPiece decoder with cleanup), so ``decode(encode(text)) == text`` for every
text the world writes.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable

from xlsearch.tasks.builtin import lab_world as world

PAD, EOS, UNK, MASK = "<pad>", "</s>", "<unk>", "<mask>"
N_SENTINELS = 100  # <extra_id_0> .. <extra_id_99>, as in mT5


def sentinel_tokens(n: int = N_SENTINELS) -> list[str]:
    return [f"<extra_id_{i}>" for i in range(n)]


def _pre_tokenizer():
    from tokenizers import pre_tokenizers

    return pre_tokenizers.Sequence([pre_tokenizers.WhitespaceSplit(),
                                    pre_tokenizers.Punctuation(behavior="isolated")])


def name_pieces(names: Iterable[str]) -> list[str]:
    """The subword pieces names are written with: two-letter syllables (``Me``, ``##gi``), then
    ``##`` + each single letter as a fallback."""
    pieces, letters = set(), set()
    for name in names:
        chunks = [name[i:i + 2] for i in range(0, len(name), 2)]
        pieces.update([chunks[0], *("##" + c for c in chunks[1:])])
        letters.update(name)
    return sorted(pieces) + sorted("##" + c for c in letters)


def build_tokenizer(texts: Iterable[str], names: Iterable[str] = ()):
    """A ``PreTrainedTokenizerFast`` over the words of ``texts``: ``<pad>`` 0, ``</s>`` 1,
    ``<unk>`` 2, the words by frequency (``names`` left out: they get syllable pieces), the
    pieces, then the 100 sentinels (mT5 keeps them at the end)."""
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    names = set(names)
    pre = _pre_tokenizer()
    counts = Counter(word for text in texts for word, _ in pre.pre_tokenize_str(text) if word not in names)
    words = sorted(counts, key=lambda w: (-counts[w], w))  # deterministic order
    pieces = [p for p in name_pieces(sorted(names)) if p not in counts]
    vocab = {token: i for i, token in enumerate([PAD, EOS, UNK, *words, *pieces, MASK, *sentinel_tokens()])}
    core = Tokenizer(models.WordPiece(vocab, unk_token=UNK, continuing_subword_prefix="##"))
    core.pre_tokenizer = pre
    core.decoder = decoders.WordPiece(prefix="##", cleanup=True)  # no space before . and ,
    # Like mT5's own tokenizer, `</s>` ends every encoded text (with add_special_tokens, the
    # default): code written for mT5 that leaves the ending to the tokenizer trains the model to
    # stop. xlsearch itself adds it in Seq2SeqCodec.encode and encodes with add_special_tokens=False.
    core.post_processor = processors.TemplateProcessing(single=f"$A {EOS}", pair=f"$A {EOS} $B {EOS}",
                                                        special_tokens=[(EOS, vocab[EOS])])
    return PreTrainedTokenizerFast(tokenizer_object=core, pad_token=PAD, eos_token=EOS, unk_token=UNK,
                                   mask_token=MASK, additional_special_tokens=sentinel_tokens(),
                                   clean_up_tokenization_spaces=False)


def world_tokenizer(seed: int, entity_pieces: bool = True):
    """The tokenizer of the lab's world for ``seed``; with ``entity_pieces``, city and
    instrument words are written in syllable pieces as names are (``Kopenhagen`` -> ``Ko ##pe
    ##nh ##ag ##en``, sharing four pieces with ``Copenhagen``), so that a summary copies them
    the way it copies names, and cognates share pieces across languages."""
    names = world.all_names(seed) + (world.entity_words() if entity_pieces else [])
    return build_tokenizer(world.all_texts(seed), names)
