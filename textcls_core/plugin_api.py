"""What textcls passes to each kind of component factory, and what it expects back.

A component factory is called as ``factory(params, **context)`` where ``params`` is the validated
instance of the component's params model. Per kind:

- data source: ``factory(params)`` returns an object with ``load(SplitRequest) -> LoadedSplit``
  (see ``textcls.data.table``).
- tokenizer: ``factory(params, context=TokenizerContext)`` returns a
  ``transformers.PreTrainedTokenizerFast``.
- model: ``factory(params, context=ModelContext)`` returns a ``transformers.PreTrainedModel``
  whose ``forward(input_ids, attention_mask=None, labels=None, output_hidden_states=False)``
  returns an output with ``logits`` (and ``loss`` when labels are given), so Trainer,
  ``save_pretrained`` and export treat every architecture alike.
- distiller: ``factory(params)`` returns a ``Distiller``.
- explainer: ``factory(params)`` returns an ``Explainer``: ``explain(subject, texts, targets)``
  with one ``Attribution`` per text (``textcls.explanation.subject``).

A factory gets ``context`` only when it declares it. The contracts themselves (what each kind
must provide, its capabilities, the checks) live in ``textcls.contracts``; ``docs/plugins.md``
is the plugin author's guide to all of this.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field


def _no_resolver(name: str) -> str:
    return name


@dataclass(frozen=True)
class ModelContext:
    """What a model factory knows about the task when it builds a model.

    ``init_from`` is a folder to start from instead of random or hub weights: the pretraining
    stage's output (a model folder, or word vectors in ``embeddings.safetensors``).
    """

    num_labels: int
    label_names: Sequence[str] = ()
    vocab_size: int | None = None
    pad_token_id: int | None = None
    init_from: str | None = None
    trust_remote_code: bool = False
    resolve: Callable[[str], str] = field(default=_no_resolver, compare=False)


@dataclass(frozen=True)
class TokenizerContext:
    """What a tokenizer factory gets: training texts, and the model's pretrained name."""

    texts: Callable[[], Iterable[str]] = field(default=lambda: iter(()), compare=False)
    default_pretrained: str | None = None
    max_length: int = 512
    resolve: Callable[[str], str] = field(default=_no_resolver, compare=False)
