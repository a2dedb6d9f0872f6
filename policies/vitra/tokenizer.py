"""Tokenizers and prompt encoding for the VLM backbone.

The real PaliGemma-2 brings its own Gemma tokenizer in its directory. A from-scratch backbone
needs one that no hub provides, so the project builds a byte-level tokenizer: 256 byte symbols
plus the specials below, no merges. It is fully determined by this file (no training corpus, so
two machines always agree), encodes any UTF-8 instruction without unknown tokens, and is saved
with a checkpoint like any transformers tokenizer.

Prompt layout (VITRA_FACTS, "Model"): image tokens, ``<bos>``, the instruction, a newline; the
policy appends the FoV and cognition tokens after it. Instructions are right-padded; the
attention mask hides the padding and position ids count real tokens only, so every sample sees
its own unpadded sequence.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers
from transformers import PreTrainedTokenizerBase, PreTrainedTokenizerFast

PAD, EOS, BOS, UNK, IMAGE = "<pad>", "<eos>", "<bos>", "<unk>", "<image>"
_SPECIALS = (PAD, EOS, BOS, UNK, IMAGE)


def byte_tokenizer() -> PreTrainedTokenizerFast:
    """The project's deterministic byte-level tokenizer (261 tokens: 5 specials, then the 256 bytes).

    The specials take Gemma's order (pad 0, eos 1, bos 2, unk 3) so that ids read the same way in
    both vocabularies; ``<image>`` is PaliGemma's placeholder name.
    """
    alphabet = sorted(pre_tokenizers.ByteLevel.alphabet())
    vocab = {token: index for index, token in enumerate([*_SPECIALS, *alphabet])}
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token=UNK))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    core.decoder = decoders.ByteLevel()
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token=BOS,
        eos_token=EOS,
        pad_token=PAD,
        unk_token=UNK,
        extra_special_tokens=[IMAGE],
    )


def encode_prompts(
    tokenizer: PreTrainedTokenizerBase, instructions: Sequence[str], max_tokens: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``<bos> instruction \\n`` per prompt, right-padded: ``(input_ids, attention_mask)``, both (B, L) int64.

    The image placeholders are not tokenised: the backbone puts the image features in front of these
    embeddings, which is what PaliGemma's processor and model do with its ``<image>`` tokens.
    Instructions longer than ``max_tokens`` (counting the newline) are truncated.
    """
    if tokenizer.bos_token_id is None or tokenizer.pad_token_id is None:
        raise ValueError("the tokenizer needs a bos and a pad token")
    rows = [
        [tokenizer.bos_token_id, *tokenizer(f"{text}\n", add_special_tokens=False)["input_ids"][:max_tokens]]
        for text in instructions
    ]
    length = max(len(row) for row in rows)
    ids = torch.full((len(rows), length), tokenizer.pad_token_id, dtype=torch.long)
    mask = torch.zeros((len(rows), length), dtype=torch.long)
    for index, row in enumerate(rows):
        ids[index, : len(row)] = torch.tensor(row)
        mask[index, : len(row)] = 1
    return ids, mask
