"""The gRPC stubs on disk are exactly what the .proto files produce with the pinned grpcio-tools."""

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROTO = ROOT / "proto"
GENERATED = ("*_pb2.py", "*_pb2.pyi", "*_pb2_grpc.py")


def _generated(base: Path) -> dict[str, bytes]:
    package = base / "strangler_contracts"
    files = [path for pattern in GENERATED for path in package.rglob(pattern)]
    return {str(path.relative_to(base)): path.read_bytes() for path in files}


def test_every_proto_has_stubs() -> None:
    protos = sorted(PROTO.rglob("*.proto"))
    assert protos, "no .proto files found"
    for proto in protos:
        stem = proto.with_suffix("")
        for suffix in ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py"):
            assert Path(f"{stem}{suffix}").is_file(), f"missing {stem}{suffix}: run `make setup`"


def test_stubs_are_not_stale(tmp_path: Path) -> None:
    subprocess.run([str(ROOT / "scripts" / "gen-protos"), str(tmp_path)], check=True)
    fresh = _generated(tmp_path)
    assert fresh, "the generator produced nothing"
    assert _generated(PROTO) == fresh, "stubs are stale: run `make protos`"
