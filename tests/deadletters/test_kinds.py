"""Each kind's dead-letter queue against its real server: list, limit, show, replay
one and all, purge, ids that are not there; RabbitMQ's quorum queues too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from svcgen_runtime import message as m
from svcgen_runtime.deadletters import REPLAY_COUNT, DeadLetter, DeadLetterNotFound

from .harness import CONSUMER, KINDS, Bench

pytestmark = pytest.mark.broker

CASES = [(kind, None) for kind in KINDS] + [("rabbitmq", "quorum")]


def _bench(kind: str, variant: str | None, tmp_path: Path) -> Bench:
    if variant == "quorum":
        return Bench(
            kind,
            tmp_path,
            spec_options={"queue_type": "quorum"},
            runtime_options={"queue_type": "quorum"},
        )
    return Bench(kind, tmp_path)


@pytest.mark.parametrize(("kind", "variant"), CASES)
async def test_list_show_replay_purge(
    kind: str, variant: str | None, tmp_path: Path
) -> None:
    bench = _bench(kind, variant, tmp_path)
    try:
        async with bench.running():
            bodies = await bench.seed(5)
            async with bench.queue() as queue:
                letters = await queue.list()
                # listing twice takes nothing and keeps the order
                again = await queue.list()
                assert [d.id for d in again] == [d.id for d in letters]
                # the consumer dead-letters concurrently: any order, then kept
                assert sorted(d.body for d in letters) == sorted(bodies)
                bodies = [d.body for d in letters]
                assert len({d.id for d in letters}) == 5
                first = letters[0]
                assert first.reason == "rejected"
                assert first.attempts == 1
                assert first.failed_at is not None
                assert first.headers[m.DLQ_CONSUMER] == CONSUMER
                assert first.target(bench.place) == bench.source
                assert [d.id for d in await queue.list(2)] == [
                    d.id for d in letters[:2]
                ]
                if variant == "quorum":  # rotated, not returned: nothing counted
                    assert "x-delivery-count" not in (await queue.list())[0].headers

                with pytest.raises(DeadLetterNotFound, match="nope"):
                    await queue.replay(["nope", first.id])
                with pytest.raises(DeadLetterNotFound, match="nope"):
                    await queue.purge(["nope"])
                assert len(await queue.list()) == 5  # nothing was done

                bench.collecting = True
                seen: list[DeadLetter] = []
                assert await queue.replay([first.id], sent=seen.append) == 1
                assert [d.id for d in seen] == [first.id]
                await bench.until(lambda: len(bench.kept) == 1, 20, "the replay")
                got = bench.kept[0]
                assert got.body == first.body
                assert got.delivery_count == 1
                assert got.headers[REPLAY_COUNT] == "1"
                assert got.headers["x-svcgen-replayed-reason"] == "rejected"
                assert (
                    got.headers["x-svcgen-replayed-dead-letter-id"]
                    == (first.headers[m.DLQ_ID])
                )
                assert m.DLQ_REASON not in got.headers
                rest = await queue.list()
                assert [d.body for d in rest] == bodies[1:]

                assert await queue.purge([rest[0].id]) == 1
                assert [d.body for d in await queue.list()] == bodies[2:]

                assert await queue.replay(None, rate=1000) == 3
                await bench.until(lambda: len(bench.kept) == 4, 20, "the replays")
                assert {g.body for g in bench.kept} == {first.body, *bodies[2:]}
                assert await queue.list() == []

            bench.collecting = False
            await bench.seed(3)
            async with bench.queue() as queue:
                assert len(await queue.list()) == 3
                assert await queue.purge(None) == 3
                assert await queue.list() == []
    finally:
        await bench.cleanup()


@pytest.mark.parametrize("kind", KINDS)
async def test_the_cli_on_real_dead_letters(kind: str, tmp_path: Path) -> None:
    bench = Bench(kind, tmp_path)
    try:
        async with bench.running():
            bodies = await bench.seed(3)
            rows = await bench.listed()
            assert [r["reason"] for r in rows] == ["rejected"] * 3
            assert {r["attempts"] for r in rows} == {1}
            ids = [r["id"] for r in rows]

            table = await bench.cli("list", CONSUMER, "--limit", "2")
            assert table.returncode == 0, table.stderr
            lines = table.stdout.splitlines()
            assert lines[0].startswith("ID") and "ERROR MESSAGE" in lines[0]
            assert len(lines) == 3 and ids[0] in lines[1] and "rejected" in lines[1]
            assert "Z" in lines[1]  # UTC ISO time

            shown = await bench.cli("show", CONSUMER, ids[0])
            assert shown.returncode == 0, shown.stderr
            assert f"{m.DLQ_REASON}: rejected" in shown.stdout
            assert "bytes, utf-8):" in shown.stdout.splitlines()[-2]
            body = shown.stdout.splitlines()[-1].encode()
            assert body in bodies

            missing = await bench.cli("show", CONSUMER, "nope")
            assert missing.returncode == 2 and "nope" in missing.stderr
            assert len(missing.stderr.strip().splitlines()) == 1

            dry = await bench.cli("replay", CONSUMER, "--all", "--dry-run")
            assert dry.returncode == 0 and "3 dead letter(s) would be" in dry.stdout
            assert len(await bench.listed()) == 3

            refused = await bench.cli("purge", CONSUMER, ids[1])
            assert refused.returncode == 2 and "--yes" in refused.stderr
            assert len(await bench.listed()) == 3

            purged = await bench.cli("purge", CONSUMER, ids[1], "--yes")
            assert purged.returncode == 0 and "purged 1" in purged.stdout

            bench.collecting = True
            sent = await bench.cli("replay", CONSUMER, ids[0])
            assert sent.returncode == 0, sent.stderr
            assert f"sent {ids[0]}" in sent.stdout and "replayed 1" in sent.stdout
            await bench.until(lambda: len(bench.kept) == 1, 20, "the replay")
            assert bench.kept[0].body == body
            assert (
                json.loads((await bench.cli("list", CONSUMER, "--json")).stdout)[0][
                    "id"
                ]
                == ids[2]
            )
    finally:
        await bench.cleanup()
