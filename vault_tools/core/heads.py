"""Task heads as data: what the class named in ``architectures[0]`` puts on top of the layer stack.

transformers names task classes by suffix (``…ForCausalLM``, ``…ForSequenceClassification``); what such a
class builds depends on which modeling code the family follows (its ``head_style``).  Each entry below was
checked against the modules transformers builds on the meta device (``tests/test_oracle.py``).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Literal

from vault_tools.core.families import HeadStyle
from vault_tools.records import record

HeadKind = Literal[
    "causal_lm",
    "seq2seq_lm",
    "masked_lm",
    "pretraining",
    "next_sentence",
    "seq_cls",
    "token_cls",
    "qa",
    "multiple_choice",
    "base",
    "encoder_only",
]
# Output width of a head layer: the vocabulary, the task's labels, the hidden size, or a fixed 1 / 2 (QA
# heads: 2 start/end logits).
HeadOut = Literal["vocab", "labels", "hidden", "one", "two"]


@record
class HeadLayer:
    """One module of a head: a linear layer over the hidden state, a LayerNorm, or a bare bias vector."""

    name: str
    out: HeadOut
    kind: Literal["linear", "norm", "vector"] = "linear"
    # A linear layer's bias: True/False, or "family" for the LM head bias only some families have.
    bias: bool | Literal["family"] = True
    # The weight is the input embedding when the config ties them, so it adds nothing then.
    tied: bool = False
    # Exists only when embeddings are untied: BERT's MLM head shares its decoder bias with the head's own
    # ``bias`` parameter only through the same tie, so untied there are two.
    untied_only: bool = False
    component: str = "task_head"


@record
class Head:
    """What one task class builds besides the layer stack."""

    label: str
    pooler: bool = False  # BERT-style pooler: a dense h → h layer with bias
    encoder_only: bool = False  # encoder-decoder families: the decoder stack is not built
    layers: tuple[HeadLayer, ...] = ()


_LM_HEAD = HeadLayer("lm_head", "vocab", bias="family", tied=True, component="lm_head")
# BERT/RoBERTa masked-LM head: dense transform, LayerNorm, then the (tied) decoder and its bias.
_MLM = (
    HeadLayer("transform", "hidden", component="lm_head"),
    HeadLayer("transform_norm", "hidden", kind="norm", component="lm_head"),
    HeadLayer("decoder", "vocab", bias=False, tied=True, component="lm_head"),
    HeadLayer("decoder.bias", "vocab", kind="vector", component="lm_head"),
    HeadLayer("predictions.bias", "vocab", kind="vector", untied_only=True, component="lm_head"),
)
# RoBERTa-style classification head: dense h → h, then h → labels, both with bias.
_CLS_HEAD = (HeadLayer("classifier.dense", "hidden"), HeadLayer("classifier.out_proj", "labels"))
_NSP = HeadLayer("seq_relationship", "two")

HEADS: MappingProxyType[HeadStyle, MappingProxyType[HeadKind, Head]] = MappingProxyType(
    {
        "decoder": MappingProxyType(
            {
                "causal_lm": Head("causal LM", layers=(_LM_HEAD,)),
                "base": Head("bare model"),
                "seq_cls": Head(
                    "sequence classification", layers=(HeadLayer("score", "labels", bias=False),)
                ),
                "token_cls": Head("token classification", layers=(HeadLayer("score", "labels"),)),
                # Decoder question-answering heads output two logits (start, end), whatever num_labels says.
                "qa": Head("question answering", layers=(HeadLayer("qa_outputs", "two"),)),
            }
        ),
        "bert": MappingProxyType(
            {
                "base": Head("bare encoder with pooler", pooler=True),
                "masked_lm": Head("masked LM", layers=_MLM),
                "causal_lm": Head("causal LM", layers=_MLM),
                "pretraining": Head("pretraining (MLM + next sentence)", pooler=True, layers=(*_MLM, _NSP)),
                "next_sentence": Head("next-sentence prediction", pooler=True, layers=(_NSP,)),
                "seq_cls": Head(
                    "sequence classification", pooler=True, layers=(HeadLayer("classifier", "labels"),)
                ),
                "token_cls": Head("token classification", layers=(HeadLayer("classifier", "labels"),)),
                "qa": Head("question answering", layers=(HeadLayer("qa_outputs", "labels"),)),
                "multiple_choice": Head(
                    "multiple choice", pooler=True, layers=(HeadLayer("classifier", "one"),)
                ),
            }
        ),
        "roberta": MappingProxyType(
            {
                "base": Head("bare encoder with pooler", pooler=True),
                "masked_lm": Head("masked LM", layers=_MLM),
                "causal_lm": Head("causal LM", layers=_MLM),
                "seq_cls": Head("sequence classification", layers=_CLS_HEAD),
                "token_cls": Head("token classification", layers=(HeadLayer("classifier", "labels"),)),
                "qa": Head("question answering", layers=(HeadLayer("qa_outputs", "labels"),)),
                "multiple_choice": Head(
                    "multiple choice", pooler=True, layers=(HeadLayer("classifier", "one"),)
                ),
            }
        ),
        "t5": MappingProxyType(
            {
                "seq2seq_lm": Head("sequence-to-sequence LM", layers=(_LM_HEAD,)),
                "base": Head("bare encoder-decoder"),
                "encoder_only": Head("encoder only", encoder_only=True),
                "seq_cls": Head("sequence classification", layers=_CLS_HEAD),
                "token_cls": Head(
                    "token classification", encoder_only=True, layers=(HeadLayer("classifier", "labels"),)
                ),
                "qa": Head("question answering", layers=(HeadLayer("qa_outputs", "labels"),)),
            }
        ),
    }
)

# The head a family builds when the spec names no architecture.
DEFAULT_HEAD: MappingProxyType[HeadStyle, HeadKind] = MappingProxyType(
    {"decoder": "causal_lm", "bert": "base", "roberta": "base", "t5": "seq2seq_lm"}
)

# Class-name suffix → head kind; the longest matching suffix wins (``LMHeadModel`` before ``Model``).
_SUFFIXES: tuple[tuple[str, HeadKind], ...] = tuple(
    sorted(
        (
            ("ForConditionalGeneration", "seq2seq_lm"),
            ("ForSequenceClassification", "seq_cls"),
            ("ForTokenClassification", "token_cls"),
            ("ForQuestionAnswering", "qa"),
            ("ForMultipleChoice", "multiple_choice"),
            ("ForNextSentencePrediction", "next_sentence"),
            ("ForPreTraining", "pretraining"),
            ("ForMaskedLM", "masked_lm"),
            ("ForCausalLM", "causal_lm"),
            ("LMHeadModel", "causal_lm"),
            ("EncoderModel", "encoder_only"),
            ("Model", "base"),
        ),
        key=lambda item: -len(item[0]),
    )
)


def resolve_head(architecture: str | None, style: HeadStyle) -> tuple[HeadKind, str | None]:
    """The head ``architecture`` builds in a family of ``style``, and a note when it had to be guessed."""
    default = DEFAULT_HEAD[style]
    if architecture is None:
        return default, None
    table = HEADS[style]
    for suffix, kind in _SUFFIXES:
        if architecture.endswith(suffix):
            # A decoder family's ForConditionalGeneration class (multimodal wrappers) is its LM head.
            if kind == "seq2seq_lm" and style != "t5":
                kind = "causal_lm"
            if kind in table:
                return kind, None
            break
    return default, (
        f"no known task head for architecture {architecture!r}; counted with the "
        f"{HEADS[style][default].label} head"
    )
