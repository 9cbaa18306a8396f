"""Throughput of video generation: the plain pipeline against the tuned path, same output shape.

    python bench/generation.py [--family ltx2|ltx] [--real-size | --tiny] [--frames N] [--steps N]
                               [--batch N] [--aspect 9:16] [--attention-backend NAME] [--cache SPEC]
                               [--no-compile] [--peak-tflops F] [--json PATH]

On a CUDA GPU it builds the chosen architecture at its REAL size with random weights (nothing is
downloaded; timing does not depend on weight values):
  * ltx2: LTX-2 (`LTX2VideoTransformer3DModel()` defaults = the released 19B audio+video transformer,
    48 layers, 32x128 video heads, 32x64 audio heads, caption width 3840), the LTX-2 video VAE, audio VAE
    and vocoder at their defaults, the text connectors at their released widths;
  * ltx: LTX-Video 2B (`LTXVideoTransformer3DModel()` defaults: 28 layers, 32x64 heads, caption 4096),
    the 0.9.1 VAE config from diffusers' scripts/convert_ltx_to_diffusers.py and its scheduler settings.
  The text encoders keep their real widths (Gemma-3-12B 3840, T5-XXL 4096) but only 2 layers: they run
  once per prompt, not once per step, and are not what this measures. Without a GPU (or with --tiny)
  it uses the tiny test model on CPU, which only checks that the bench runs.

Both paths render the same clips: `batch` prompts at the same size, frame count and step count, with
guidance off (distilled sampling), and include the VAE decode and, for LTX-2, the vocoder.
  plain: weights in float32 (LTX-2 in bfloat16: 19B float32 weights do not fit next to activations on
         an 80 GB GPU), default attention, no compile, no cache, one prompt per pipeline call;
  tuned: bfloat16, `compile_repeated_blocks` (regional torch.compile), an attention backend
         (`_native_cudnn` by default on CUDA), a step cache (TaylorSeer for LTX-2, whose blocks
         First-Block-Cache does not support; First-Block-Cache for LTX-Video), all prompts in one call.
Each path is warmed up with one untimed call of the same shape (compilation, autotuning).

Reported per path: seconds of video per GPU-second = clips x clip seconds / wall seconds on the one
GPU, and model FLOP utilisation (MFU) = model FLOPs / wall seconds / peak dense bf16 FLOP/s of the
GPU (H100/H200 SXM: 989 TFLOP/s; override with --peak-tflops). Model FLOPs are counted at every
denoiser call from the actual token counts seen by a forward hook:
    FLOPs = B x [ 2 x P_video x S_v + 2 x P_audio x S_a + 2 x P_textkv x S_t
                  + 4 x L x (S_v^2 x D_v + S_v x S_t x D_v + S_a^2 x D_a + S_a x S_t x D_a + 2 x S_v x S_a x D_a) ]
where B is the batch of that call (CFG doubles it), S_v / S_a / S_t are video, audio and text tokens,
P_* are the transformer's parameters applied to those tokens (by name: "audio" -> audio tokens, text
cross-attention K/V projections -> text tokens, everything else -> video tokens), L the layer count,
D_* = heads x head_dim. The first part is the weight matmuls (2 FLOPs per parameter per token), the
second the attention score and value products. The text encoder, VAE and vocoder are left out (a few
percent here). Steps skipped by a cache are still counted, so the tuned MFU is an *effective* MFU: the
work a plain run would have done per second.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import re
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch

from generation.pipelines.base import Request
from generation.registry import apply_tuning, load_model
from generation.spec import ModelConfig

PEAK_BF16_FLOPS = {"H200": 989.4e12, "H100 PCIe": 756e12, "H100": 989.4e12, "A100": 312e12, "L40S": 362e12}
GOAL_RATIO = 2.0
TEXT_KV = re.compile(r"(^|\.)(audio_)?attn2\.to_(k|v)\.")


@dataclass
class Measurement:
    path: str
    dtype: str
    compile: bool
    attention_backend: str | None
    cache: str | None
    batch: int
    clips: int
    seconds: float
    video_seconds_per_gpu_second: float
    model_tflop: float
    mfu: float | None


class FlopCounter:
    """Counts model FLOPs of every denoiser call (see the module docstring for the formula)."""

    def __init__(self, transformer: torch.nn.Module) -> None:
        config = transformer.config
        self.layers = config.num_layers
        self.video_dim = config.num_attention_heads * config.attention_head_dim
        self.audio_dim = getattr(config, "audio_num_attention_heads", 0) * getattr(config, "audio_attention_head_dim", 0)
        self.params = {"video": 0, "audio": 0, "text": 0}
        for name, parameter in transformer.named_parameters():
            group = "text" if TEXT_KV.search(name) else "audio" if "audio" in name else "video"
            self.params[group] += parameter.numel()
        self.flops = 0.0
        self.enabled = False
        self.handle = transformer.register_forward_pre_hook(self._hook, with_kwargs=True)

    def _hook(self, module, args, kwargs) -> None:
        if not self.enabled:
            return
        video = kwargs.get("hidden_states", args[0] if args else None)
        text = kwargs.get("encoder_hidden_states")
        audio = kwargs.get("audio_hidden_states")
        batch, s_v = video.shape[0], video.shape[1]
        s_t = text.shape[1] if text is not None else 0
        s_a = audio.shape[1] if audio is not None else 0
        matmuls = 2 * (self.params["video"] * s_v + self.params["audio"] * s_a + self.params["text"] * s_t)
        attention = 4 * self.layers * (s_v * s_v * self.video_dim + s_v * s_t * self.video_dim
                                       + s_a * s_a * self.audio_dim + s_a * s_t * self.audio_dim
                                       + 2 * s_v * s_a * self.audio_dim)
        self.flops += batch * (matmuls + attention)


@contextlib.contextmanager
def default_dtype(dtype: torch.dtype):
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def build_real_ltx2(dtype: torch.dtype, device: str):
    from diffusers import (
        AutoencoderKLLTX2Audio,
        AutoencoderKLLTX2Video,
        FlowMatchEulerDiscreteScheduler,
        LTX2Pipeline,
        LTX2VideoTransformer3DModel,
    )
    from diffusers.pipelines.ltx2 import LTX2TextConnectors
    from diffusers.pipelines.ltx2.vocoder import LTX2Vocoder
    from transformers import ByT5Tokenizer, Gemma3Config, Gemma3ForConditionalGeneration

    from generation.pipelines.ltx2 import LTX2Family

    text_layers = 2  # Gemma-3-12B has 48; see the module docstring
    gemma = Gemma3Config(
        text_config=dict(hidden_size=3840, intermediate_size=15360, num_hidden_layers=text_layers,
                         num_attention_heads=16, num_key_value_heads=8, head_dim=256, vocab_size=384,
                         max_position_embeddings=4096, sliding_window=1024),
        vision_config=dict(hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
                           image_size=28, patch_size=14),
        mm_tokens_per_image=4,
    )
    with torch.device(device), default_dtype(dtype):
        # As scripts/convert_ltx2_to_diffusers.py: the defaults would derive 64x / 16x compression from
        # the four down blocks, but only three of them downsample in each direction.
        vae = AutoencoderKLLTX2Video(decoder_causal=False, spatial_compression_ratio=32, temporal_compression_ratio=8)
        pipe = LTX2Pipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(),
            vae=vae,
            audio_vae=AutoencoderKLLTX2Audio(),
            text_encoder=Gemma3ForConditionalGeneration(gemma).eval(),
            tokenizer=ByT5Tokenizer(model_max_length=1024),
            connectors=LTX2TextConnectors(text_proj_in_factor=text_layers + 1),
            transformer=LTX2VideoTransformer3DModel(),
            vocoder=LTX2Vocoder(),
        )
    return LTX2Family(pipe, test_model=False, guidance_scale=1.0)


def build_real_ltx(dtype: torch.dtype, device: str):
    from diffusers import (
        AutoencoderKLLTXVideo,
        FlowMatchEulerDiscreteScheduler,
        LTXPipeline,
        LTXVideoTransformer3DModel,
    )
    from transformers import ByT5Tokenizer, T5Config, T5EncoderModel

    from generation.pipelines.ltx import LTXFamily

    vae_091 = dict(
        in_channels=3, out_channels=3, latent_channels=128, block_out_channels=(128, 256, 512, 512),
        decoder_block_out_channels=(256, 512, 1024), layers_per_block=(4, 3, 3, 3, 4),
        decoder_layers_per_block=(5, 6, 7, 8), spatio_temporal_scaling=(True, True, True, False),
        decoder_spatio_temporal_scaling=(True, True, True), decoder_inject_noise=(False, True, True, True),
        upsample_residual=(True, True, True), upsample_factor=(2, 2, 2), timestep_conditioning=True,
        patch_size=4, patch_size_t=1, resnet_norm_eps=1e-6, scaling_factor=1.0, encoder_causal=True,
        decoder_causal=False,
    )
    t5_xxl_width = T5Config(vocab_size=384, d_model=4096, d_kv=64, d_ff=10240, num_layers=2, num_heads=64,
                            feed_forward_proj="gated-gelu", dropout_rate=0.0)
    with torch.device(device), default_dtype(dtype):
        pipe = LTXPipeline(
            scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, base_shift=0.95, max_shift=2.05,
                                                      base_image_seq_len=1024, max_image_seq_len=4096,
                                                      shift_terminal=0.1),
            vae=AutoencoderKLLTXVideo(**vae_091),
            text_encoder=T5EncoderModel(t5_xxl_width).eval(),
            tokenizer=ByT5Tokenizer(model_max_length=128),
            transformer=LTXVideoTransformer3DModel(),
        )
    return LTXFamily(pipe, test_model=False, guidance_scale=1.0)


def build_tiny(family: str, device: str, data_dir: str):
    model = load_model(ModelConfig(family=family, device=device), data_dir)
    return model.family


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def peak_flops(device: str, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    if not device.startswith("cuda"):
        return None
    name = torch.cuda.get_device_name()
    return next((peak for key, peak in PEAK_BF16_FLOPS.items() if key in name), None)


def measure(family, label: str, cfg: ModelConfig, *, prompts: list[str], batch: int, width: int, height: int,
            num_frames: int, steps: int, device: str, peak: float | None) -> Measurement:
    counter = FlopCounter(family.denoisers()[0])

    def run(chunk: list[str], offset: int) -> None:
        request = Request(prompts=chunk, negative_prompts=[""] * len(chunk),
                          seeds=list(range(offset, offset + len(chunk))), audio=[False] * len(chunk), width=width,
                          height=height, num_frames=num_frames, fps=family.fps, steps=steps,
                          on_step=lambda step, total: None)
        family.generate(request)

    chunks = [prompts[i:i + batch] for i in range(0, len(prompts), batch)]
    with torch.inference_mode():
        run(chunks[0], 0)  # warm-up: compilation, autotuning, allocator
        synchronize(device)
        counter.enabled = True
        started = time.perf_counter()
        for index, chunk in enumerate(chunks):
            run(chunk, index * batch)
        synchronize(device)
        seconds = time.perf_counter() - started
    counter.handle.remove()
    clip_seconds = (num_frames - 1) / family.fps
    return Measurement(
        path=label, dtype=cfg.dtype, compile=cfg.compile, attention_backend=cfg.attention_backend, cache=cfg.cache,
        batch=batch, clips=len(prompts), seconds=seconds,
        video_seconds_per_gpu_second=len(prompts) * clip_seconds / seconds,
        model_tflop=counter.flops / 1e12, mfu=counter.flops / seconds / peak if peak else None,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", choices=("ltx2", "ltx"), default="ltx2")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--real-size", action="store_true", help="real architecture with random weights (needs CUDA)")
    size.add_argument("--tiny", action="store_true", help="the tiny test model even on a GPU")
    parser.add_argument("--frames", type=int, help="frames per clip (rounded up to what the VAE takes)")
    parser.add_argument("--aspect", choices=("9:16", "1:1", "16:9"), default="9:16")
    parser.add_argument("--steps", type=int, help="denoising steps (default 8, the distilled schedule; 4 tiny)")
    parser.add_argument("--batch", type=int, default=4, help="clips per measurement (tuned: one call)")
    parser.add_argument("--attention-backend", help="tuned path backend (default _native_cudnn on CUDA)")
    parser.add_argument("--cache", help="tuned path cache (default taylorseer for ltx2, fbc for ltx)")
    parser.add_argument("--no-compile", action="store_true", help="leave regional compile out of the tuned path")
    parser.add_argument("--peak-tflops", type=float, help="peak dense bf16 TFLOP/s for MFU")
    parser.add_argument("--data-dir", help="where the tiny model is built (default: a temporary directory)")
    parser.add_argument("--json", help="also write the measurements to this file")
    args = parser.parse_args(argv)

    cuda = torch.cuda.is_available()
    if args.real_size and not cuda:
        parser.error("--real-size needs a CUDA GPU; without one the bench uses the tiny model")
    real = cuda and not args.tiny
    device = "cuda" if cuda else "cpu"
    plain_dtype = torch.bfloat16 if (real and args.family == "ltx2") else torch.float32
    with tempfile.TemporaryDirectory() as scratch:
        if real:
            family = (build_real_ltx2 if args.family == "ltx2" else build_real_ltx)(plain_dtype, device)
        else:
            family = build_tiny(args.family, device, args.data_dir or scratch)
        resolution = family.resolution(args.aspect)
        wanted = args.frames or (121 if real else 25)
        num_frames = math.ceil((wanted - 1) / family.frame_multiple) * family.frame_multiple + 1
        steps = args.steps or (8 if real else 4)
        prompts = [f"clip {i}: a red kite over a windy beach, handheld camera" for i in range(args.batch)]
        peak = peak_flops(device, args.peak_tflops)
        shape = dict(prompts=prompts, width=resolution.width, height=resolution.height, num_frames=num_frames,
                     steps=steps, device=device, peak=peak)
        transformer = family.denoisers()[0]
        params = sum(p.numel() for p in transformer.parameters())
        where = torch.cuda.get_device_name() if cuda else "CPU"
        print(f"{args.family} {'real size' if real else 'tiny test model'} ({params / 1e9:.3g} B transformer params)"
              f" on {where}: {resolution.width}x{resolution.height}, {num_frames} frames at {family.fps} fps,"
              f" {steps} steps, {args.batch} clips", flush=True)

        dtype_name = str(plain_dtype).removeprefix("torch.")
        plain_cfg = ModelConfig(family=args.family, dtype=dtype_name, device=device)
        plain = measure(family, "plain", plain_cfg, batch=1, **shape)
        report(plain)

        tuned_cfg = ModelConfig(
            family=args.family, dtype="bfloat16", device=device, compile=not args.no_compile,
            attention_backend=args.attention_backend or ("_native_cudnn" if cuda else None),
            cache=args.cache or ("taylorseer" if args.family == "ltx2" else "fbc"),
        )
        family.pipe.to(dtype=torch.bfloat16)
        apply_tuning(family, tuned_cfg)
        try:
            tuned = measure(family, "tuned", tuned_cfg, batch=args.batch, **shape)
        except RuntimeError as exc:
            if args.attention_backend or tuned_cfg.attention_backend is None:
                raise
            # The default backend choice is a guess about this GPU and torch build; say so and measure
            # the other levers with PyTorch's own SDPA dispatch instead of failing the whole bench.
            print(f"  attention backend {tuned_cfg.attention_backend} failed here ({exc}); using 'native'",
                  flush=True)
            tuned_cfg.attention_backend = "native"
            for module in family.denoisers():
                module.set_attention_backend("native")
            tuned = measure(family, "tuned", tuned_cfg, batch=args.batch, **shape)
        report(tuned)

    ratio = tuned.video_seconds_per_gpu_second / plain.video_seconds_per_gpu_second
    verdict = "meets" if ratio >= GOAL_RATIO else "below"
    print(f"tuned/plain throughput: {ratio:.2f}x ({verdict} the {GOAL_RATIO:g}x goal"
          f"{'' if real else '; tiny CPU model: this only checks that the bench runs'})")
    if args.json:
        Path(args.json).write_text(json.dumps({"plain": asdict(plain), "tuned": asdict(tuned), "ratio": ratio,
                                               "real_size": real, "device": where}, indent=2))
    return 0


def report(m: Measurement) -> None:
    mfu = f"{m.mfu * 100:.1f}%" if m.mfu is not None else "n/a (no peak known; --peak-tflops)"
    print(f"  {m.path:5}  dtype={m.dtype} compile={m.compile} attention={m.attention_backend or 'default'}"
          f" cache={m.cache or 'none'} batch={m.batch}: {m.clips} clips in {m.seconds:.2f} s ->"
          f" {m.video_seconds_per_gpu_second:.3f} s of video per GPU-second, {m.model_tflop:.3g} TFLOP, MFU {mfu}",
          flush=True)


if __name__ == "__main__":
    sys.exit(main())
