"""ember.hub: torch.hub for repositories on disk.  ``load(repo_dir, model, source="local")``
imports ``hubconf.py`` from that directory and calls its entry point; ``list`` and ``help``
read the same file.  Remote sources ("owner/repo[:ref]" on GitHub) need the network, which ember
never uses: they raise a clear error saying to clone the repository and load it locally.
``load_state_dict_from_url`` reads a ``file://`` URL or a file already in the hub cache."""
from __future__ import annotations

import importlib.util
import os
import sys
import urllib.parse

__all__ = ["load", "list", "help", "get_dir", "set_dir", "load_state_dict_from_url",
           "download_url_to_file", "HubError"]

_state = {"dir": None}


class HubError(RuntimeError):
    """A hub repository cannot be used (remote, missing hubconf.py, unknown entry point)."""


def get_dir():
    """The hub cache directory: set_dir's, else $TORCH_HOME/hub, else ~/.cache/torch/hub."""
    if _state["dir"] is not None:
        return _state["dir"]
    home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch")
    return os.path.join(os.path.expanduser(home), "hub")


def set_dir(d):
    _state["dir"] = os.path.expanduser(os.fspath(d))


def _remote(repo_or_dir):
    return HubError(
        f"ember.hub: cannot fetch {repo_or_dir!r} from GitHub: ember does not use the network. "
        f"Clone the repository yourself and call ember.hub.load('<path to the clone>', model, "
        f"source='local').")


def _hubconf(repo_or_dir, source):
    if source not in ("github", "local"):
        raise ValueError(f'Unknown source: "{source}". Allowed values: "github" | "local".')
    if source == "github":
        path = os.path.join(get_dir(), repo_or_dir.replace("/", "_").replace(":", "_"))
        if not os.path.isdir(path):
            raise _remote(repo_or_dir)
        repo_or_dir = path
    if not os.path.isdir(repo_or_dir):
        raise HubError(f"ember.hub: {repo_or_dir!r} is not a directory")
    conf = os.path.join(repo_or_dir, "hubconf.py")
    if not os.path.isfile(conf):
        raise HubError(f"ember.hub: {repo_or_dir!r} has no hubconf.py")
    name = f"ember_hubconf_{abs(hash(os.path.abspath(conf)))}"
    spec = importlib.util.spec_from_file_location(name, conf)
    module = importlib.util.module_from_spec(spec)
    sys.path.insert(0, os.path.abspath(repo_or_dir))   # hubconf imports its repository's files
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(os.path.abspath(repo_or_dir))
    for dep in getattr(module, "dependencies", []):
        if importlib.util.find_spec(dep) is None:
            raise HubError(f"ember.hub: {repo_or_dir!r} needs the missing package {dep!r}")
    return module


def _entry(module, model):
    fn = getattr(module, model, None)
    if fn is None or not callable(fn):
        raise HubError(f"Cannot find callable {model} in hubconf")
    return fn


def list(github, force_reload=False, skip_validation=False, trust_repo=None, verbose=True,
         source="github"):
    module = _hubconf(github, source)
    return [n for n in dir(module) if callable(getattr(module, n)) and not n.startswith("_")
            and not isinstance(getattr(module, n), type(sys))]


def help(github, model, force_reload=False, skip_validation=False, trust_repo=None,
         source="github"):
    return _entry(_hubconf(github, source), model).__doc__


def load(repo_or_dir, model, *args, source="github", trust_repo=None, force_reload=False,
         verbose=True, skip_validation=False, **kwargs):
    """Call entry point ``model`` of ``repo_or_dir``'s hubconf.py with ``*args, **kwargs``."""
    if source == "github" and not os.path.isdir(repo_or_dir) and ":" not in repo_or_dir and \
            repo_or_dir.count("/") != 1:
        raise ValueError(f"ember.hub: {repo_or_dir!r} is neither a local directory nor "
                         "'owner/repo[:ref]'")
    return _entry(_hubconf(repo_or_dir, source), model)(*args, **kwargs)


def _local_file(url, model_dir, file_name):
    parts = urllib.parse.urlparse(url)
    if parts.scheme == "file":
        return urllib.parse.unquote(parts.path)
    cached = os.path.join(model_dir or os.path.join(get_dir(), "checkpoints"),
                          file_name or os.path.basename(parts.path))
    if os.path.isfile(cached):
        return cached
    raise HubError(f"ember.hub: cannot download {url!r}: ember does not use the network. Download "
                   f"it yourself to {cached!r} (or pass a file:// URL).")


def load_state_dict_from_url(url, model_dir=None, map_location=None, progress=True,
                             check_hash=False, file_name=None, weights_only=False):
    from .serialization import load as _load
    return _load(_local_file(url, model_dir, file_name), map_location=map_location,
                 weights_only=weights_only)


def download_url_to_file(url, dst, hash_prefix=None, progress=True):
    import shutil
    shutil.copyfile(_local_file(url, None, None), dst)
