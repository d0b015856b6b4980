"""The committed route table renders into a config the real nginx accepts."""

from pathlib import Path

from devstack import Stack, StackConfig, find_root


def test_committed_route_table_passes_nginx_t(tmp_path: Path) -> None:
    config = StackConfig.load(find_root(Path(__file__).parent)).replace(var=tmp_path)
    conf = Stack(config).render_gateway()
    assert conf.is_file()
    assert "split_clients" in conf.read_text()
