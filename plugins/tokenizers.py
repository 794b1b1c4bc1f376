"""Built-in tokenizers: hf, wordpiece, bpe, word, char, cjk.

Each factory is called as ``factory(params, context=TokenizerContext)`` and returns a
``PreTrainedTokenizerFast``. Trained tokenizers learn from ``context.texts()`` (the training
split, or the pretraining corpus).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from textcls import (
    SPECIAL_TOKENS,
    ConfigError,
    Register,
    TokenizerCapabilities,
    TokenizerContext,
    batched_texts,
    hookimpl,
    wrap_tokenizer,
)
from tokenizers import (
    Regex,
    Tokenizer,
    decoders,
    models,
    normalizers,
    pre_tokenizers,
    processors,
    trainers,
)


class HfTokenizerParams(BaseModel):
    """A pretrained tokenizer, by hub name or local path."""

    model_config = ConfigDict(extra="forbid")

    pretrained: str | None = Field(
        None,
        description="Name or path; default: the model's own pretrained name",
        examples=["sentence-transformers/all-MiniLM-L6-v2"],
    )


class TrainedParams(BaseModel):
    """Vocabulary size and frequency cut-off for tokenizers trained on the data."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(8000, gt=len(SPECIAL_TOKENS))
    min_frequency: int = Field(2, ge=1)
    lowercase: bool = True


class CharParams(BaseModel):
    """Character-level tokenizer."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: int = Field(2000, gt=len(SPECIAL_TOKENS), description="Most frequent characters")
    min_frequency: int = Field(1, ge=1)
    lowercase: bool = True


def build_hf(params: HfTokenizerParams, context: TokenizerContext) -> Any:
    """A pretrained tokenizer resolved offline through textcls_resolve_pretrained."""
    from transformers import AutoTokenizer

    name = params.pretrained or context.default_pretrained
    if not name:
        raise ConfigError(
            "tokenizer 'hf' needs params.pretrained (a hub name or path) when the model has none"
        )
    return AutoTokenizer.from_pretrained(
        context.resolve(name), use_fast=True, trust_remote_code=False
    )


def _normalizer(lowercase: bool) -> Any:
    steps = [normalizers.NFKC()]
    if lowercase:
        steps.append(normalizers.Lowercase())
    return normalizers.Sequence(steps)


def _train(
    tokenizer: Tokenizer,
    trainer_class: Any,
    params: Any,
    context: TokenizerContext,
    **options: Any,
) -> Any:
    """Train on the context's texts with the shared settings, then wrap for transformers."""
    trainer = trainer_class(
        vocab_size=params.vocab_size,
        min_frequency=params.min_frequency,
        special_tokens=SPECIAL_TOKENS,
        show_progress=False,
        **options,
    )
    tokenizer.train_from_iterator(batched_texts(context.texts()), trainer=trainer)
    # [CLS] text [SEP], as BERT-style models expect: their classifier reads the [CLS] position.
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[
            ("[CLS]", tokenizer.token_to_id("[CLS]")),
            ("[SEP]", tokenizer.token_to_id("[SEP]")),
        ],
    )
    return wrap_tokenizer(tokenizer, max_length=context.max_length)


def build_wordpiece(params: TrainedParams, context: TokenizerContext) -> Any:
    """WordPiece subwords (BERT style) trained on the data."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = _normalizer(params.lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    return _train(tokenizer, trainers.WordPieceTrainer, params, context)


def build_bpe(params: TrainedParams, context: TokenizerContext) -> Any:
    """Byte-level BPE (GPT-2 style) trained on the data: never an unknown character."""
    tokenizer = Tokenizer(models.BPE(unk_token="[UNK]"))
    tokenizer.normalizer = _normalizer(params.lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tokenizer.decoder = decoders.ByteLevel()
    return _train(
        tokenizer,
        trainers.BpeTrainer,
        params,
        context,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )


def build_word(params: TrainedParams, context: TokenizerContext) -> Any:
    """Whole words and punctuation; words rarer than min_frequency become [UNK].

    A CJK ideograph is a word of its own (Chinese and Japanese write no spaces, so a whole
    sentence would otherwise be one token): the default student's tokenizer works on every
    shared data set, ChnSentiCorp included.
    """
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Sequence(
        [
            _normalizer(params.lowercase),
            normalizers.BertNormalizer(
                clean_text=False, handle_chinese_chars=True, strip_accents=False, lowercase=False
            ),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return _train(tokenizer, trainers.WordLevelTrainer, params, context)


def build_char(params: CharParams, context: TokenizerContext) -> Any:
    """One token per character (spaces dropped)."""
    tokenizer = Tokenizer(models.WordLevel(unk_token="[UNK]"))
    tokenizer.normalizer = _normalizer(params.lowercase)
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.WhitespaceSplit(), pre_tokenizers.Split(Regex("."), "isolated")]
    )
    return _train(tokenizer, trainers.WordLevelTrainer, params, context)


def build_cjk(params: TrainedParams, context: TokenizerContext) -> Any:
    """Chinese, Japanese and Korean ideographs one per token; WordPiece subwords for the rest."""
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.NFKC(),
            normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=True, lowercase=params.lowercase
            ),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    return _train(tokenizer, trainers.WordPieceTrainer, params, context)


@hookimpl
def textcls_register_tokenizers(register: Register) -> None:
    register(
        "hf",
        build_hf,
        params=HfTokenizerParams,
        description="A pretrained Hugging Face tokenizer (the model's own by default)",
    )
    register(
        "wordpiece",
        build_wordpiece,
        params=TrainedParams,
        description="WordPiece subwords trained on the data",
    )
    register(
        "bpe", build_bpe, params=TrainedParams, description="Byte-level BPE trained on the data"
    )
    register(
        "word",
        build_word,
        params=TrainedParams,
        description="Word level: words, punctuation and CJK ideographs; rare ones become [UNK]",
        capabilities=TokenizerCapabilities(word_level=True),
    )
    register("char", build_char, params=CharParams, description="One token per character")
    register(
        "cjk",
        build_cjk,
        params=TrainedParams,
        description="CJK ideographs one per token, WordPiece for other scripts",
    )
