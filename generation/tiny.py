"""Tiny, randomly initialised pipelines of the real architectures, for tests and CPU development.

Shapes follow diffusers' own fast tests (`get_dummy_components` in tests/pipelines/ltx2/ and
tests/pipelines/ltx/, tests/pipelines/stable_audio/), except that the tokenizer and text
encoder are built from code (`ByT5Tokenizer`, a config-built T5/Gemma3) so nothing is
downloaded. A model is built once, saved with `save_pretrained` under
`<data_dir>/models/tiny-<family>` next to a marker file that flags it as a test model, and
from then on loaded with `from_pretrained` exactly like real weights.
"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

from generation.errors import ModelLoadError

MARKER = "vitascope-test-model.json"
IC_LORA_FILE = "pytorch_lora_weights.safetensors"
BUILDER_VERSION = 2  # bump when a tiny architecture changes, so stale copies are rebuilt
TEXT_WIDTH = 32


def is_test_model(path: str | Path) -> bool:
    """True for a directory made by this module: its outputs must never pass for real generations."""
    return (Path(path) / MARKER).is_file()


def ensure_tiny_model(kind: str, data_dir: str | Path) -> Path:
    """Return the directory of the tiny `kind` model ('ltx2', 'ltx' or 'stable-audio'), building it once.

    The build happens in a private directory renamed into place, so concurrent workers never
    load a half-written model; the loser of a race simply uses the winner's copy.
    """
    if kind not in BUILDERS:
        raise ModelLoadError(f"no tiny model for {kind!r}; known: {sorted(BUILDERS)}")
    models = Path(data_dir) / "models"
    final = models / f"tiny-{kind}"
    if _marker_version(final) == BUILDER_VERSION:
        return final
    models.mkdir(parents=True, exist_ok=True)
    staging = models / f".tiny-{kind}.{uuid.uuid4().hex}"
    try:
        BUILDERS[kind]().save_pretrained(staging)
        marker = {"test_model": True, "kind": kind, "builder_version": BUILDER_VERSION,
                  "note": "random weights built by generation.tiny; outputs are noise, for tests only"}
        (staging / MARKER).write_text(json.dumps(marker, indent=2))
        if final.exists():
            if _marker_version(final) == BUILDER_VERSION:
                return final  # another worker finished first
            shutil.rmtree(final)  # a copy from an older builder version
        try:
            staging.rename(final)
        except OSError:
            if _marker_version(final) != BUILDER_VERSION:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def ensure_tiny_ic_lora(data_dir: str | Path) -> Path:
    """Return a random rank-4 LoRA file for the tiny LTX-2 transformer, built once like the models.

    It stands in for a real reference IC-LoRA (`ModelConfig.reference_lora_path`): same file
    format, same loading path (`load_lora_weights`, needs peft), random weights.
    """
    models = Path(data_dir) / "models"
    final = models / "tiny-ltx2-ic-lora"
    if _marker_version(final) == BUILDER_VERSION:
        return final / IC_LORA_FILE
    base = ensure_tiny_model("ltx2", data_dir)
    staging = models / f".tiny-ltx2-ic-lora.{uuid.uuid4().hex}"
    try:
        _seeded(lambda: _save_random_lora(base, staging))
        marker = {"test_model": True, "kind": "ltx2-ic-lora", "builder_version": BUILDER_VERSION,
                  "note": "random LoRA built by generation.tiny, for tests only"}
        (staging / MARKER).write_text(json.dumps(marker, indent=2))
        if final.exists():
            if _marker_version(final) == BUILDER_VERSION:
                return final / IC_LORA_FILE
            shutil.rmtree(final)
        try:
            staging.rename(final)
        except OSError:
            if _marker_version(final) != BUILDER_VERSION:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final / IC_LORA_FILE


def _save_random_lora(base: Path, directory: Path) -> None:
    from diffusers import LTX2Pipeline, LTX2VideoTransformer3DModel
    from peft import LoraConfig
    from peft.utils import get_peft_model_state_dict

    transformer = LTX2VideoTransformer3DModel.from_pretrained(base / "transformer")
    # init_lora_weights=False: random A and B, so the adapter really changes the output.
    transformer.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                       target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    LTX2Pipeline.save_lora_weights(directory, transformer_lora_layers=get_peft_model_state_dict(transformer),
                                   weight_name=IC_LORA_FILE)


def _marker_version(path: Path) -> int | None:
    try:
        return json.loads((path / MARKER).read_text()).get("builder_version")
    except (OSError, ValueError):
        return None


def _seeded(build):
    """Build under a fixed seed without disturbing the caller's random state."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return build()


def _tokenizer():
    from transformers import ByT5Tokenizer

    # Byte-level: needs no vocabulary file and tokenizes identically in every process.
    return ByT5Tokenizer(model_max_length=64)


def _t5_encoder():
    from transformers import T5Config, T5EncoderModel

    config = T5Config(vocab_size=384, d_model=TEXT_WIDTH, d_kv=8, d_ff=37, num_layers=2, num_heads=4,
                      relative_attention_num_buckets=8, dropout_rate=0.0)
    return _seeded(lambda: T5EncoderModel(config)).eval()


def build_tiny_ltx2():
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration

    text_layers = 2
    gemma = Gemma3Config(
        text_config=dict(hidden_size=TEXT_WIDTH, intermediate_size=37, num_hidden_layers=text_layers,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=8, vocab_size=384,
                         max_position_embeddings=1024, sliding_window=64),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=28, patch_size=14),
        mm_tokens_per_image=4,
    )
    text_encoder = _seeded(lambda: Gemma3ForConditionalGeneration(gemma)).eval()
    transformer = _seeded(lambda: LTX2VideoTransformer3DModel(
        in_channels=4, out_channels=4, patch_size=1, patch_size_t=1, num_attention_heads=2, attention_head_dim=8,
        cross_attention_dim=16, vae_scale_factors=(2, 2, 2), audio_in_channels=4, audio_out_channels=4,
        audio_num_attention_heads=2, audio_attention_head_dim=4, audio_cross_attention_dim=8, num_layers=2,
        qk_norm="rms_norm_across_heads", caption_channels=TEXT_WIDTH, rope_double_precision=False, rope_type="split",
    ))
    # The connectors' heads x head_dim must equal the text width.
    connectors = _seeded(lambda: LTX2TextConnectors(
        caption_channels=TEXT_WIDTH, text_proj_in_factor=text_layers + 1,
        video_connector_num_attention_heads=4, video_connector_attention_head_dim=8, video_connector_num_layers=1,
        video_connector_num_learnable_registers=None, audio_connector_num_attention_heads=4,
        audio_connector_attention_head_dim=8, audio_connector_num_layers=1,
        audio_connector_num_learnable_registers=None, connector_rope_base_seq_len=32, rope_theta=10000.0,
        rope_double_precision=False, causal_temporal_positioning=False, rope_type="split",
    ))

    def video_vae():
        vae = AutoencoderKLLTX2Video(
            in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8,), decoder_block_out_channels=(8,),
            layers_per_block=(1,), decoder_layers_per_block=(1, 1), spatio_temporal_scaling=(True,),
            decoder_spatio_temporal_scaling=(True,), decoder_inject_noise=(False, False),
            # diffusers' test VAE downsamples only in space, so its encoder and decoder disagree on frame
            # counts; "spatiotemporal" makes them match, which video-conditioned remix needs.
            downsample_type=("spatiotemporal",),
            upsample_residual=(False,), upsample_factor=(1,), timestep_conditioning=False, patch_size=1,
            patch_size_t=1, encoder_causal=True, decoder_causal=False,
        )
        vae.use_framewise_encoding = vae.use_framewise_decoding = False
        return vae

    vae = _seeded(video_vae)
    mel_hop_length, mel_bins = 160, 8
    audio_vae = _seeded(lambda: AutoencoderKLLTX2Audio(
        base_channels=4, output_channels=2, ch_mult=(1,), num_res_blocks=1, attn_resolutions=None, in_channels=2,
        resolution=32, latent_channels=2, norm_type="pixel", causality_axis="height", dropout=0.0,
        mid_block_add_attention=False, sample_rate=16000, mel_hop_length=mel_hop_length, is_causal=True,
        mel_bins=mel_bins,
    ))
    # The upsample factors must multiply to mel_hop_length, or the waveform comes out far too short.
    vocoder = _seeded(lambda: LTX2Vocoder(
        in_channels=2 * mel_bins, hidden_channels=32, out_channels=2, upsample_kernel_sizes=[8, 8, 20],
        upsample_factors=[4, 4, 10], resnet_kernel_sizes=[3], resnet_dilations=[[1, 3, 5]],
        leaky_relu_negative_slope=0.1, output_sampling_rate=16000,
    ))
    return LTX2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(), vae=vae, audio_vae=audio_vae, text_encoder=text_encoder,
        tokenizer=_tokenizer(), connectors=connectors, transformer=transformer, vocoder=vocoder,
    )


def build_tiny_ltx():
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )

    transformer = _seeded(lambda: LTXVideoTransformer3DModel(
        in_channels=8, out_channels=8, patch_size=1, patch_size_t=1, num_attention_heads=4, attention_head_dim=8,
        cross_attention_dim=32, num_layers=2, caption_channels=TEXT_WIDTH,
    ))

    def video_vae():
        # The decoder widths are given explicitly: left at their defaults they build a full-size decoder.
        vae = AutoencoderKLLTXVideo(
            latent_channels=8, block_out_channels=(8, 8, 8, 8), decoder_block_out_channels=(8, 8, 8, 8),
            spatio_temporal_scaling=(True, True, False, False),
            decoder_spatio_temporal_scaling=(True, True, False, False),
            layers_per_block=(1, 1, 1, 1, 1), decoder_layers_per_block=(1, 1, 1, 1, 1),
            patch_size=1, patch_size_t=1, encoder_causal=True, decoder_causal=False,
        )
        vae.use_framewise_encoding = vae.use_framewise_decoding = False
        return vae

    return LTXPipeline(scheduler=FlowMatchEulerDiscreteScheduler(), vae=_seeded(video_vae),
                       text_encoder=_t5_encoder(), tokenizer=_tokenizer(), transformer=transformer)


def build_tiny_stable_audio():
    from diffusers import (
        AutoencoderOobleck,
        EDMDPMSolverMultistepScheduler,
        StableAudioDiTModel,
        StableAudioPipeline,
        StableAudioProjectionModel,
    )

    # 16 kHz with a hop of 4*8*8*8 = 2048 samples: 80 latent frames hold 10.24 s.
    transformer = _seeded(lambda: StableAudioDiTModel(
        sample_size=80, in_channels=3, num_layers=2, attention_head_dim=4, num_key_value_attention_heads=2,
        out_channels=3, cross_attention_dim=4, time_proj_dim=8, global_states_input_dim=8,
        cross_attention_input_dim=4,
    ))
    vae = _seeded(lambda: AutoencoderOobleck(
        encoder_hidden_size=6, downsampling_ratios=[4, 8, 8, 8], decoder_channels=3, decoder_input_channels=3,
        audio_channels=2, channel_multiples=[1, 2, 2, 2], sampling_rate=16000,
    ))
    projection = _seeded(lambda: StableAudioProjectionModel(
        text_encoder_dim=TEXT_WIDTH, conditioning_dim=4, min_value=0, max_value=32,
    ))
    # EDM DPM-Solver is the scheduler StableAudioPipeline documents; the cosine variant needs torchsde.
    scheduler = EDMDPMSolverMultistepScheduler(solver_order=2, prediction_type="v_prediction", sigma_data=1.0,
                                               sigma_schedule="exponential")
    return StableAudioPipeline(vae=vae, text_encoder=_t5_encoder(), projection_model=projection,
                               tokenizer=_tokenizer(), transformer=transformer, scheduler=scheduler)


BUILDERS: dict[str, Any] = {"ltx2": build_tiny_ltx2, "ltx": build_tiny_ltx, "stable-audio": build_tiny_stable_audio}
