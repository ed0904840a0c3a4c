from pathlib import Path

from app.backend.library.ids import (
    IdCandidate,
    assign_ids,
    ollama_name,
    quant_from_name,
    split_part,
)


def test_quant_parsed_from_common_file_names() -> None:
    assert quant_from_name("gemma-3-270m-q4_k_m.gguf") == "Q4_K_M"
    assert quant_from_name("Llama-3.2-1B-Instruct-IQ4_XS.gguf") == "IQ4_XS"
    assert quant_from_name("phi-3-mini-4k-instruct-fp16.gguf") == "FP16"
    assert quant_from_name("model-Q8_0-00001-of-00003.gguf") == "Q8_0"
    assert quant_from_name("model.gguf") is None


def test_split_parts() -> None:
    assert split_part("model-Q8_0-00002-of-00003.gguf") == (2, 3)
    assert split_part("model-Q8_0.gguf") is None


def _cand(folder: int, rel: str) -> IdCandidate:
    return IdCandidate(folder, Path(rel), quant_from_name(rel))


def test_publisher_repo_quant_layout() -> None:
    c = _cand(0, "google/gemma-3-270m/gemma-3-270m-Q4_K_M.gguf")
    assert assign_ids([c])[c] == "google/gemma-3-270m/Q4_K_M"


def test_files_sharing_a_quant_in_one_repo_get_distinct_ids() -> None:
    a = _cand(0, "pub/repo/model-a-Q4_K_M.gguf")
    b = _cand(0, "pub/repo/model-b-Q4_K_M.gguf")
    ids = assign_ids([a, b])
    assert ids[a] != ids[b]
    assert ids[a] == "pub/repo/model-a-Q4_K_M"


def test_same_file_in_two_folders_is_numbered_by_folder_order() -> None:
    a = _cand(0, "pub/repo/m-Q8_0.gguf")
    b = _cand(1, "pub/repo/m-Q8_0.gguf")
    ids = assign_ids([b, a])
    assert ids[a] == "pub/repo/Q8_0"
    assert ids[b] == "pub/repo/Q8_0@2"


def test_ids_are_stable_regardless_of_discovery_order() -> None:
    cands = [_cand(0, f"p/r{i}/x-Q4_0.gguf") for i in range(5)]
    assert assign_ids(cands) == assign_ids(list(reversed(cands)))


def test_loose_files_get_local_ids() -> None:
    c = _cand(0, "mymodel-q5_k_s.gguf")
    assert assign_ids([c])[c] == "local/mymodel-q5_k_s/Q5_K_S"


def test_ollama_name() -> None:
    assert ollama_name("google/gemma-3-270m/Q4_K_M") == "gemma-3-270m:q4_k_m"
