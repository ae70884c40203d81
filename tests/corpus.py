"""A corpus of real-world Keras models built from classes nobody on the team wrote.

Everything is found by introspection, so new classes are picked up automatically:

* ``hub_backbones()``: every ``keras_hub.models.Backbone`` subclass, built from a tiny config that
  is derived from its ``__init__`` signature (``SMALL``, keyed by parameter name). Sub-models a
  backbone takes (``image_encoder``, ``vision_encoder``, ``qformer``, ...) are found in the same
  keras-hub package by name and built the same way; ``OVERRIDES`` is the per-class fallback.
* ``hub_tasks()``: every ``*Classifier`` / ``*CausalLM`` task, on a tiny ``backbone_cls``.
* ``applications()``: every ``keras.applications`` builder (``weights=None``).
* ``full_size()``: GPT-2 small and BERT base, whose parameter counts are published.

A pure builder: it does not import modelscope, and leaves ``keras.backend.clear_session()`` to
the caller. Each build seeds Keras's RNG, so weights are the same from run to run.
No weights or data are ever downloaded (no ``from_preset``; applications use ``weights=None``).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

Inputs = dict[str, tuple[tuple[int | None, ...], str]]  # input name -> (shape, dtype)


@dataclass
class Entry:
    id: str  # "hub/BertBackbone", "task/BertTextClassifier", "app/ResNet50", "full/gpt2_small"
    family: str  # "hub", "task", "app", "full"
    build: Callable[[], keras.Model]
    slow: bool = False  # building takes more than ~5 s on a 2-core machine
    expected_params: int | None = None  # a published figure, when there is one
    inputs: Inputs | None = None  # what Keras expects, recorded by make()

    def make(self) -> keras.Model:
        """Build the model and record the inputs it declares (all corpus models are functional)."""
        model = self.build()
        self.inputs = keras_inputs(model)
        return model


def keras_inputs(model: keras.Model) -> Inputs:
    """The inputs a functional model declares: name -> (shape, dtype)."""
    return {t.name: (tuple(t.shape), str(t.dtype)) for t in keras.tree.flatten(model.inputs)}


# --- keras-hub backbones ---------------------------------------------------------------------

# Tiny values, keyed by parameter NAME. Every dimension is 16 (hidden), 32 (feed-forward) or
# 8 (per head) so sub-models built independently agree on their widths.
# fmt: off
SMALL: dict[str, Any] = {
    # sizes of text models
    "vocabulary_size": 64, "vocab_size": 64, "text_vocab_size": 64, "vocab_size_per_layer_input": 64,
    "num_layers": 2, "num_hidden_layers": 2, "num_layers_enc": 2, "num_layers_dec": 2,
    "encoder_num_layers": 2, "decoder_num_layers": 2, "num_decoder_layers": 2, "num_encoder_layers": 1,
    "num_heads": 2, "num_query_heads": 2, "num_attention_heads": 2, "num_key_value_heads": 1,
    "encoder_num_heads": 2, "decoder_num_heads": 2, "num_decoder_heads": 2,
    "encoder_num_attention_heads": 2, "decoder_num_attention_heads": 2,
    "encoder_num_key_value_heads": 1, "decoder_num_key_value_heads": 1,
    "hidden_dim": 16, "hidden_size": 16, "text_hidden_size": 16, "embedding_dim": 16, "embed_dim": 16,
    "encoder_hidden_dim": 16, "decoder_hidden_dim": 16, "vision_dim": 16, "qformer_hidden_dim": 16,
    "filter_dim": 16, "projection_dim": 16, "projection_filters": 16,
    "intermediate_dim": 32, "intermediate_size": 32, "mlp_dim": 32, "decoder_mlp_dim": 32,
    "encoder_intermediate_dim": 32, "decoder_intermediate_dim": 32,
    "moe_intermediate_dim": 16, "shared_expert_intermediate_dim": 16, "shared_expert_intermediate_size": 16,
    "head_dim": 8, "head_size": 8, "encoder_head_dim": 8, "decoder_head_dim": 8,
    "num_experts": 4, "top_k": 2,
    "max_sequence_length": 32, "max_position_embeddings": 32, "max_label_length": 8,
    "max_encoder_sequence_length": 32, "max_decoder_sequence_length": 32,
    "linear_num_key_heads": 2, "linear_num_value_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 8,
    "num_query_tokens": 4, "cross_attention_frequency": 1,
    "dropout": 0.0, "dropout_rate": 0.0, "layer_norm_epsilon": 1e-6, "initializer_range": 0.02,
    "use_patch_bias": True, "use_class_token": True, "use_mha_bias": True, "use_mlp_bias": True, "use_bias": True,
    # sizes of vision models
    "image_shape": (32, 32, 3), "image_size": 32, "patch_size": 4, "num_classes": 2,
    "vit_patch_size": 4, "vit_num_heads": 2, "vit_hidden_dim": 16, "vit_num_layers": 2, "vit_intermediate_dim": 32,
    "stackwise_num_repeats": [1, 1], "stackwise_num_filters": [8, 16], "stackwise_num_blocks": [1, 1],
    "stackwise_num_strides": [1, 2], "stackwise_strides": [1, 2],
}
# fmt: on


def _lazy(cls_name: str, **kwargs: Any) -> Callable[[], Any]:
    """A sub-model built from SMALL plus ``kwargs`` (deferred until the parent is built)."""
    return lambda: small(_hub_class(cls_name), **kwargs)


def _layer(cls_name: str, **kwargs: Any) -> Callable[[], Any]:
    """A ``keras_hub.layers`` sub-model with exactly these settings (deferred)."""
    return lambda: getattr(_hub("layers"), cls_name)(**kwargs)


# Per-class fallback, used only where a name alone cannot say what the class needs (why, per entry).
# Values that are functions are called at build time (sub-models).
# fmt: off
OVERRIDES: dict[str, dict[str, Any]] = {
    # stackwise CNNs: their lists must agree in length and nesting, per architecture
    "CSPNetBackbone": dict(stem_filters=8, stem_kernel_size=3, stem_strides=1, stackwise_depth=[1, 1],
                           block_type="dark_block", stage_type="dark"),
    "ResNetBackbone": dict(input_conv_filters=[64], input_conv_kernel_sizes=[3], block_type="basic_block",
                           stackwise_num_filters=[64, 16, 16, 16], stackwise_num_blocks=[1, 1, 1, 1],
                           stackwise_num_strides=[1, 2, 2, 2]),  # stem and stage 1 must be 64; P2..P5 for RetinaNet
    "EfficientNetBackbone": dict(stackwise_kernel_sizes=[3, 3], stackwise_num_repeats=[1, 1],
                                 stackwise_input_filters=[8, 8], stackwise_output_filters=[8, 16],
                                 stackwise_expansion_ratios=[1, 2], stackwise_squeeze_and_excite_ratios=[0.0, 0.25],
                                 stackwise_strides=[1, 2], stackwise_block_types=["fused", "unfused"],
                                 stackwise_force_input_filters=[0, 0], stackwise_nores_option=[False, False],
                                 stackwise_width_coefficients=[1.0, 1.0], stackwise_depth_coefficients=[1.0, 1.0],
                                 input_shape=(32, 32, 3), num_features=32),  # no default for the coefficients
    "MobileNetBackbone": dict(stackwise_expansion=[[16], [24, 24]], stackwise_num_blocks=[1, 2],
                              stackwise_num_filters=[[8], [16, 16]], stackwise_kernel_size=[[3], [3, 3]],
                              stackwise_num_strides=[[2], [2, 1]], stackwise_se_ratio=[[None], [0.25, 0.25]],
                              stackwise_activation=[["relu"], ["hard_swish", "hard_swish"]],
                              stackwise_padding=[[1], [1, 1]], output_num_filters=32, depthwise_filters=8,
                              depthwise_stride=1, depthwise_residual=False, last_layer_filter=32,
                              input_num_filters=8, squeeze_and_excite=0.5),
    "MobileNetV5Backbone": dict(  # the docstring's example
        stackwise_block_types=[["er"], ["uir", "uir"]], stackwise_num_blocks=[1, 2],
        stackwise_num_filters=[[8], [16, 16]], stackwise_strides=[[2], [2, 1]],
        stackwise_act_layers=[["relu"], ["relu", "relu"]], stackwise_exp_ratios=[[4.0], [2.0, 2.0]],
        stackwise_se_ratios=[[0.0], [0.0, 0.0]], stackwise_dw_kernel_sizes=[[0], [3, 3]],
        stackwise_dw_start_kernel_sizes=[[0], [0, 0]], stackwise_dw_end_kernel_sizes=[[0], [0, 0]],
        stackwise_exp_kernel_sizes=[[3], [0, 0]], stackwise_pw_kernel_sizes=[[1], [0, 0]],
        stackwise_num_heads=[[0], [0, 0]], stackwise_key_dims=[[0], [0, 0]], stackwise_value_dims=[[0], [0, 0]],
        stackwise_kv_strides=[[0], [0, 0]], stackwise_use_cpe=[[False], [False, False]],
        use_msfa=False, stem_size=8, num_features=32),
    "HGNetV2Backbone": dict(depths=[1, 1], embedding_size=8, hidden_sizes=[16, 32], stem_channels=[3, 8, 8],
                            hidden_act="relu", use_learnable_affine_block=False,
                            stackwise_stage_filters=[(8, 8, 16, 1, 1, 3), (16, 8, 32, 1, 1, 3)],
                            apply_downsample=[False, True], use_lightweight_conv_block=[False, True]),
    "MiTBackbone": dict(num_layers=2, hidden_dims=[8, 16], layerwise_depths=[1, 1], layerwise_num_heads=[1, 2],
                        layerwise_sr_ratios=[2, 1], layerwise_patch_sizes=[7, 3], layerwise_strides=[4, 2],
                        max_drop_path_rate=0.0),
    "XceptionBackbone": dict(stackwise_conv_filters=[[8, 16], [16, 16]], stackwise_pooling=[True, False]),
    "SwinTransformerBackbone": dict(depths=(2, 2), num_heads=(2, 2), window_size=4, patch_size=2),
    "ViTDetBackbone": dict(global_attention_layer_indices=[1], window_size=2, num_output_channels=16),
    "VideoPrismBackbone": dict(num_frames=2, num_spatial_layers=1, num_temporal_layers=1, num_auxiliary_layers=1),
    "DINOV2Backbone": dict(position_embedding_shape=(32, 32)),  # default 518x518 positions
    # layer lists whose length must equal num_layers
    "SmolLM3Backbone": dict(attention_bias=False, attention_dropout=0.0, rope_layer_enabled_list=[True, True],
                            layer_types=["attention", "attention"], mlp_bias=False, rope_theta=10000.0,
                            partial_rotary_factor=1.0),
    "T5GemmaBackbone": dict(encoder_layer_types=["full_attention"] * 2, decoder_layer_types=["full_attention"] * 2),
    "T5Gemma2Backbone": dict(encoder_layer_types=["full_attention"] * 2, decoder_layer_types=["full_attention"] * 2),
    "Gemma3nBackbone": dict(pad_token_id=0, intermediate_size=[32, 32], hidden_activation="gelu_approximate",
                            layer_types=["full_attention"] * 2, sliding_window=4, rope_theta=10000.0,
                            hidden_size_per_layer_input=2, altup_num_inputs=2, laurel_rank=1),
    # sequence models whose "image_shape" is a token sequence, not an image
    "FluxBackbone": dict(input_channels=4, mlp_ratio=2.0, depth=1, depth_single_blocks=1, axes_dim=[2, 2, 4],
                         theta=10000, image_shape=(16, 4), image_ids_shape=(16, 3), text_shape=(8, 16),
                         text_ids_shape=(8, 3), y_shape=(16,)),
    # sub-models no sibling class provides, or that need settings of their own
    "BASNetBackbone": dict(image_encoder=_lazy("ResNetBackbone", image_shape=(None, None, 3)),  # it insists
                           projection_filters=64),  # must equal ResNet's 64-filter stem
    "DeepLabV3Backbone": dict(image_encoder=_lazy("ResNetBackbone"), spatial_pyramid_pooling_key="P4",
                              low_level_feature_key="P2", upsampling_size=4, dilation_rates=[2, 4]),
    "RetinaNetBackbone": dict(image_encoder=_lazy("ResNetBackbone"), min_level=3, max_level=5, use_p5=False),
    "SegFormerBackbone": dict(image_encoder=_lazy("MiTBackbone")),
    "DepthAnythingBackbone": dict(image_encoder=_lazy("DINOV2Backbone", num_layers=4, image_shape=(112, 112, 3),
                                                      patch_size=14, position_embedding_shape=(112, 112)),
                                  reassemble_factors=[4, 2, 1, 0.5], neck_hidden_dims=[8, 8, 16, 16],
                                  fusion_hidden_dim=16, head_hidden_dim=8, head_in_index=-1,
                                  feature_keys=["stage1", "stage2", "stage3", "stage4"]),
    "PARSeqBackbone": dict(image_encoder=_lazy("ViTBackbone", use_class_token=False)),
    "SAMBackbone": dict(image_encoder=_lazy("ViTDetBackbone", image_shape=(32, 32, 3), patch_size=4,
                                            num_output_channels=16, window_size=2),
                        prompt_encoder=_layer("SAMPromptEncoder", hidden_size=16, image_embedding_size=(8, 8),
                                              input_image_size=(32, 32), mask_in_channels=4),
                        mask_decoder=_layer("SAMMaskDecoder", num_layers=2, hidden_size=16, intermediate_dim=32,
                                            num_heads=2, embedding_dim=16, num_multimask_outputs=3, iou_head_depth=2,
                                            iou_head_hidden_dim=16)),
    "SAM3PromptableConceptBackbone": dict(  # the docstring's example, shrunk; SAM3 layers take their own settings
        vision_encoder=_layer("SAM3VisionEncoder", image_shape=(56, 56, 3), patch_size=14, num_layers=2,
                              hidden_dim=16, intermediate_dim=32, num_heads=2, fpn_hidden_dim=16,
                              fpn_scale_factors=[4.0, 2.0, 1.0, 0.5], pretrain_image_shape=(28, 28, 3),
                              window_size=2, global_attn_indexes=[1, 2]),
        text_encoder=_layer("SAM3TextEncoder", vocabulary_size=64, embedding_dim=16, hidden_dim=16, num_layers=2,
                            num_heads=2, intermediate_dim=32),
        geometry_encoder=_layer("SAM3GeometryEncoder", num_layers=2, hidden_dim=16, intermediate_dim=32,
                                num_heads=2, roi_size=7),
        detr_encoder=_layer("SAM3DetrEncoder", num_layers=2, hidden_dim=16, intermediate_dim=32, num_heads=2),
        detr_decoder=_layer("SAM3DetrDecoder", image_shape=(56, 56, 3), patch_size=14, num_layers=2, hidden_dim=16,
                            intermediate_dim=32, num_heads=2, num_queries=8),
        mask_decoder=_layer("SAM3MaskDecoder", num_upsampling_stages=3, hidden_dim=16, num_heads=2)),
    "StableDiffusion3Backbone": dict(  # the VAE is not exported and its GroupNorms need 32 channels
        mmdit_patch_size=2, mmdit_hidden_dim=16, mmdit_num_layers=2, mmdit_num_heads=2, mmdit_position_size=8,
        mmdit_qk_norm=None, mmdit_dual_attention_indices=None, latent_channels=4,
        vae=lambda: _vae_class()(encoder_num_filters=[32] * 4, encoder_num_blocks=[1] * 4,
                                 decoder_num_filters=[32] * 4, decoder_num_blocks=[1] * 4, sample_channels=8,
                                 output_channels=3),
        clip_l=_lazy("CLIPTextEncoder", intermediate_output_index=0),  # SD3 reads both outputs
        clip_g=_lazy("CLIPTextEncoder", intermediate_output_index=0)),
    "BLIP2Backbone": dict(language_model=_lazy("BLIP2CustomOPT")),
    "DFineBackbone": dict(  # the docstring's example, shrunk
        backbone=_lazy("HGNetV2Backbone", image_shape=(None, None, 3), out_features=["stage1", "stage2"]),
        decoder_in_channels=[16, 16], encoder_hidden_dim=16, num_denoising=0, num_labels=4,
        learn_initial_query=False, num_queries=8, anchor_image_size=(32, 32), feat_strides=[8, 16],
        num_feature_levels=2, encoder_in_channels=[16, 32], encode_proj_layers=[1], num_attention_heads=2,
        encoder_ffn_dim=32, num_encoder_layers=1, hidden_expansion=0.5, depth_multiplier=0.5, eval_idx=-1,
        num_decoder_layers=2, decoder_attention_heads=2, decoder_ffn_dim=32, decoder_n_points=[2, 2],
        lqe_hidden_dim=8, num_lqe_layers=2, out_features=["stage1", "stage2"], image_shape=(32, 32, 3), seed=0),
}
# fmt: on
OVERRIDES["SmolLMBackbone"] = OVERRIDES["SmolLM3Backbone"]  # one class, two names


def _hub(module: str = "models") -> Any:
    """``keras_hub.models`` (or ``.layers``), imported on first use."""
    import keras_hub

    return getattr(keras_hub, module)


def _vae_class() -> type:
    from keras_hub.src.models.vae.vae_backbone import VAEBackbone

    return VAEBackbone


def _hub_class(name: str) -> type:
    for module in (_hub("models"), _hub("layers")):
        if hasattr(module, name):
            return getattr(module, name)
    raise LookupError(f"no keras_hub class {name}")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _sibling(cls: type, param: str) -> type | None:
    """The class in ``cls``'s own keras-hub package whose name ends with the parameter's name
    (CLIPBackbone's ``vision_encoder`` -> CLIPVisionEncoder, BLIP2's ``qformer`` -> BLIP2QFormer)."""
    package = cls.__module__.rsplit(".", 1)[0]
    for module in (_hub("models"), _hub("layers")):
        for name, other in inspect.getmembers(module, inspect.isclass):
            if other.__module__.startswith(package + ".") and _norm(name).endswith(_norm(param)) and other is not cls:
                return other
    return None


def small_config(cls: type, **extra: Any) -> dict[str, Any]:
    """Keyword arguments for a tiny ``cls``: SMALL by parameter name, sub-models built recursively,
    then the class's OVERRIDES and ``extra``. Raises LookupError for a required parameter left open."""
    overrides = {**OVERRIDES.get(cls.__name__, {}), **extra}
    kwargs: dict[str, Any] = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in overrides:
            continue
        if p.name in SMALL:
            kwargs[p.name] = SMALL[p.name]
        elif p.default is p.empty:
            sub = _sibling(cls, p.name)
            if sub is None:
                raise LookupError(f"{cls.__name__}: no small value for required parameter {p.name!r}")
            kwargs[p.name] = small(sub)
    for name, value in overrides.items():
        kwargs[name] = value() if callable(value) and not isinstance(value, type) else value
    return kwargs


def small(cls: type, **extra: Any) -> Any:
    """A tiny instance of ``cls``."""
    return cls(**small_config(cls, **extra))


def _seeded(make: Callable[[], keras.Model]) -> Callable[[], keras.Model]:
    def build() -> keras.Model:
        keras.utils.set_random_seed(0)
        return make()

    return build


def backbone_classes() -> list[type]:
    """Every concrete Backbone in ``keras_hub.models``, once (aliases such as ESM2Backbone left out).
    Abstract bases forward ``*args`` (FeaturePyramidBackbone) and are left out too."""
    base = _hub().Backbone
    seen: dict[int, type] = {}
    for _, cls in inspect.getmembers(_hub(), inspect.isclass):
        params = inspect.signature(cls.__init__).parameters.values()
        if (issubclass(cls, base) and cls is not base and not inspect.isabstract(cls)
                and not any(p.kind is p.VAR_POSITIONAL for p in params)):  # fmt: skip
            seen.setdefault(id(cls), cls)
    return sorted(seen.values(), key=lambda c: c.__name__)


def hub_backbones() -> list[Entry]:
    return [Entry(f"hub/{cls.__name__}", "hub", _seeded(lambda cls=cls: small(cls))) for cls in backbone_classes()]


# --- keras-hub tasks -------------------------------------------------------------------------

TASK_SUFFIXES = ("Classifier", "CausalLM")


# Tasks that cannot be built without a preprocessor, whose tokenizer needs a downloaded vocabulary.
NEEDS_PREPROCESSOR = {"PARSeqCausalLM"}  # its __init__ reads preprocessor.tokenizer


def task_classes() -> list[type]:
    """Every ``*Classifier``/``*CausalLM`` task that takes ``backbone=`` and ``preprocessor=``
    (but those in ``NEEDS_PREPROCESSOR``)."""
    base = _hub().Task
    seen: dict[int, type] = {}
    for _, cls in inspect.getmembers(_hub(), inspect.isclass):
        params = inspect.signature(cls.__init__).parameters
        if (issubclass(cls, base) and cls.__name__.endswith(TASK_SUFFIXES)
                and getattr(cls, "backbone_cls", None) is not None
                and "backbone" in params and "preprocessor" in params
                and cls.__name__ not in NEEDS_PREPROCESSOR):  # fmt: skip
            seen.setdefault(id(cls), cls)
    return sorted(seen.values(), key=lambda c: c.__name__)


def _task(cls: type) -> keras.Model:
    params = inspect.signature(cls.__init__).parameters
    kwargs = {name: SMALL[name] for name in params if name in SMALL}  # num_classes
    return cls(backbone=small(cls.backbone_cls), preprocessor=None, **kwargs)


def hub_tasks() -> list[Entry]:
    return [Entry(f"task/{cls.__name__}", "task", _seeded(lambda cls=cls: _task(cls))) for cls in task_classes()]


# --- keras.applications ----------------------------------------------------------------------

# Build time > ~5 s with weights=None, measured on 2 shared cores (keras 3.15, TF 2.21): NASNetLarge 8.9 s,
# EfficientNetV2L 8.7, EfficientNetB7 7.6, EfficientNetV2M 6.5, NASNetMobile 5.3, EfficientNetB6 5.2,
# InceptionResNetV2 4.9. (The rest take 0.6-4.4 s; ConvNeXtXLarge 4.4 s.)
SLOW_APPS = frozenset({"NASNetLarge", "EfficientNetV2L", "EfficientNetB7", "EfficientNetV2M", "NASNetMobile",
                       "EfficientNetB6", "InceptionResNetV2"})  # fmt: skip


def application_builders() -> list[tuple[str, Callable[..., keras.Model]]]:
    """The functions of ``keras.applications`` that build a model (they take weights= and include_top=)."""
    out = []
    for name, fn in inspect.getmembers(keras.applications, inspect.isfunction):
        if {"weights", "include_top"} <= set(inspect.signature(fn).parameters):
            out.append((name, fn))
    return out


def applications() -> list[Entry]:
    return [Entry(f"app/{name}", "app", _seeded(lambda fn=fn: fn(weights=None)), name in SLOW_APPS)
            for name, fn in application_builders()]  # fmt: skip


# --- full-size models with published parameter counts ----------------------------------------


def full_size() -> list[Entry]:
    def gpt2() -> keras.Model:
        return _hub().GPT2Backbone(vocabulary_size=50257, num_layers=12, num_heads=12, hidden_dim=768,
                                   intermediate_dim=3072, max_sequence_length=1024)  # fmt: skip

    def bert() -> keras.Model:
        return _hub().BertBackbone(vocabulary_size=30522, num_layers=12, num_heads=12, hidden_dim=768,
                                   intermediate_dim=3072, max_sequence_length=512, num_segments=2)  # fmt: skip

    return [Entry("full/gpt2_small", "full", _seeded(gpt2), slow=True, expected_params=124_439_808),
            Entry("full/bert_base", "full", _seeded(bert), slow=True, expected_params=109_482_240)]  # fmt: skip


def corpus() -> list[Entry]:
    """Everything, applications last (they take the longest)."""
    return hub_backbones() + hub_tasks() + full_size() + applications()
