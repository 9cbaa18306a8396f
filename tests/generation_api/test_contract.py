"""The web side speaks the worker's dict contract (generation.contract) and stays free of torch."""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from generation import contract
from generation import spec as worker_spec
from generation.errors import ModelLoadError
from node.generation import queue

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "diffusers", "transformers", "accelerate", "generation")
CONTRACT = ("generation", "generation.contract")  # standard library only: the web process may import it


def test_the_contract_names_the_worker_dataclasses_fields():
    assert set(contract.SPEC_FIELDS) == {f.name for f in dataclasses.fields(worker_spec.JobSpec)}
    assert set(contract.RESULT_FIELDS) == {f.name for f in dataclasses.fields(worker_spec.JobResult)}
    assert set(contract.MODEL_FIELDS) == {f.name for f in dataclasses.fields(worker_spec.ModelInfo)}


def test_a_spec_built_by_the_node_is_one_the_worker_accepts(tmp_path):
    data = queue.job_spec(job_id="117653490893073408", prompt="a fox", negative_prompt=None, duration=2, aspect="1:1",
                          seed=3, audio=True, output_dir=tmp_path / "out", source_video=tmp_path / "source.mp4",
                          image=None, strength=0.5)
    spec = worker_spec.JobSpec.from_dict(json.loads(json.dumps(data)))
    assert spec.mode == "video" and spec.duration == 2.0
    result = worker_spec.JobResult(job_id=spec.job_id, video_path="/x.mp4", poster_path="/x.jpg", width=32, height=32,
                                   duration=2.0, fps=8, has_audio=True, steps=2, model=worker_spec.ModelInfo(
                                       name="m", version="1", weights_digest="sha256:00", test_model=True,
                                       family="ltx2"))
    queue.check_result(result.to_dict())


def test_a_spec_with_presigned_urls_is_accepted_and_bad_transfers_are_refused():
    """An object-storage job: inputs are presigned GETs the transfer describes, outputs presigned PUTs."""
    get, put = "https://bucket.example/jobs/7/source.mp4?X-Amz-Signature=a", "https://bucket.example/jobs/7/out/7.mp4?s"
    transfer = {"inputs": {get: {"size": 10, "sha256": "0" * 64}},
                "outputs": {"video": put, "poster": put.replace(".mp4", ".jpg")}}
    data = queue.job_spec(job_id="7", prompt="a fox", negative_prompt=None, duration=1, aspect="1:1", seed=3,
                          audio=False, output_dir=Path("/jobs/7/out"), source_video=get, image=None, strength=0.5,
                          transfer=transfer)
    assert worker_spec.JobSpec.from_dict(json.loads(json.dumps(data))).transfer == transfer
    for bad in ({**data, "source_video": "https://elsewhere.example/x.mp4"},
                {**data, "transfer": {**transfer, "outputs": {"video": "file:///etc/passwd", "poster": put}}},
                {**data, "transfer": {**transfer, "inputs": {get: {"size": 10, "sha256": "nope"}}}},
                {**data, "transfer": None}):
        with pytest.raises(worker_spec.SpecError):
            worker_spec.JobSpec.from_dict(bad)


class Plain:
    def __init__(self):
        self.secret = 1


class Exploit:
    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


def test_results_are_read_without_importing_or_running_foreign_code(tmp_path):
    failure = queue.safe_loads(pickle.dumps({"r": ModelLoadError("weights missing"), "s": False}))
    assert isinstance(failure["r"], queue.ForeignObject)
    assert failure["r"].qualified_name == "generation.errors.ModelLoadError"
    assert failure["r"].args == ("weights missing",)
    assert queue.safe_loads(pickle.dumps(RuntimeError("cancelled: job 1"))).args == ("cancelled: job 1",)
    queue.safe_loads(pickle.dumps(Exploit(tmp_path / "pwned")))
    assert not (tmp_path / "pwned").exists()
    stranger = queue.safe_loads(pickle.dumps({"r": Plain()}, protocol=5))["r"]  # built with NEWOBJ
    assert isinstance(stranger, queue.ForeignObject) and stranger.qualified_name.endswith("test_contract.Plain")
    assert stranger.state == {"secret": 1}


def test_the_web_process_imports_no_torch():
    code = ("import importlib, json, pkgutil, sys; import node.app as app, node.cli as cli; "
            "commands = [m.name for m in pkgutil.walk_packages(cli.__path__, 'node.cli.') "
            "if not m.name.endswith('__main__')]; "
            "[importlib.import_module(m) for m in app.ROUTE_MODULES + app.PLUGIN_MODULES + commands]; "
            f"print(json.dumps(sorted(m for m in sys.modules "
            f"if m.split('.')[0] in {HEAVY!r} and m not in {CONTRACT!r})))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_a_running_node_has_no_torch_loaded_but_its_worker_does(gen_node):
    node_maps = Path(f"/proc/{gen_node.process.pid}/maps").read_text()
    worker_maps = Path(f"/proc/{gen_node.worker.process.pid}/maps").read_text()
    assert "libtorch" in worker_maps
    assert "libtorch" not in node_maps and "/torch/" not in node_maps


async def test_serve_without_the_generation_extra_says_how_to_get_it(monkeypatch, caplog):
    from types import SimpleNamespace

    from node.generation import workers
    from node.config import load_config

    monkeypatch.setattr(workers, "generation_installed", lambda: False)
    app = {"background": [], "process": 0}
    node = SimpleNamespace(config=load_config(environ={}, overrides={"generation": {"embedded_worker": True}}),
                           extras={"redis_url": "unix:///nowhere"})
    await workers.setup(app, node)
    assert app["background"] == []
    assert "pip install 'vitascope[generation]'" in caplog.text
