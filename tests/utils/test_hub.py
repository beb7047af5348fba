"""ember.hub: local hubconf.py repositories; remote sources fail clearly without the network."""
from __future__ import annotations

import textwrap

import pytest

import ember


@pytest.fixture
def repo(tmp_path):
    (tmp_path / "nets.py").write_text("import ember\n\ndef mlp(width):\n"
                                      "    return ember.nn.Linear(width, 2)\n")
    (tmp_path / "hubconf.py").write_text(textwrap.dedent('''
        dependencies = ["numpy"]
        from nets import mlp as _mlp

        def tiny(width=3, pretrained=False):
            """A tiny linear model."""
            return _mlp(width)
    '''))
    return tmp_path


def test_load_list_help_from_a_local_directory(repo):
    m = ember.hub.load(str(repo), "tiny", 5, source="local")
    assert isinstance(m, ember.nn.Linear) and m.in_features == 5
    assert ember.hub.list(str(repo), source="local") == ["tiny"]
    assert ember.hub.help(str(repo), "tiny", source="local") == "A tiny linear model."
    with pytest.raises(RuntimeError, match="Cannot find callable nope in hubconf"):
        ember.hub.load(str(repo), "nope", source="local")


def test_remote_sources_raise_a_clear_error(tmp_path):
    ember.hub.set_dir(tmp_path)
    try:
        with pytest.raises(ember.hub.HubError, match="does not use the network.*Clone"):
            ember.hub.load("pytorch/vision:v0.10.0", "resnet18")
        with pytest.raises(ember.hub.HubError, match="does not use the network"):
            ember.hub.load_state_dict_from_url("https://example.com/w.pth")
    finally:
        ember.hub._state["dir"] = None


def test_state_dict_from_a_file_url(tmp_path):
    ember.save({"w": ember.ones(2)}, tmp_path / "w.pth")
    sd = ember.hub.load_state_dict_from_url((tmp_path / "w.pth").as_uri())
    assert sd["w"].tolist() == [1.0, 1.0]
