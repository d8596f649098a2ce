"""Demographics only: the people's Patient records and their ground truth, in chunks.

A linkage benchmark needs a million Patient records and no clinical history. They are
made in chunks of consecutive people (an even number, so that households stay whole),
each chunk as NDJSON lines per provider and ground-truth lines, in this process or, when
asked, by worker processes. Every person is drawn from their own generator, so the chunks,
concatenated in order, are the same bytes whatever the number of workers, and the same
Patient records a run with the clinical history writes.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from functools import cache

import orjson

from healthhub.synth.people import choose_providers, people
from healthhub.synth.primitives import id_maker
from healthhub.synth.providers import Provider, literal_reference, make_providers
from healthhub.synth.registration import CASES, Registration, register

#: People per chunk (even, so that households stay whole).
CHUNK_PEOPLE = 4096


@dataclass(frozen=True)
class Chunk:
    """The output of people `start` to `stop` (excluded)."""

    start: int
    stop: int
    patients: list[bytes]  # per provider: NDJSON lines of its Patient records
    records: list[int]  # per provider: how many
    truth: bytes  # ground-truth lines
    cases: list[int]  # records carrying each of `CASES`


def truth_line(provider: str, record: Registration, person_key: str) -> str:
    """The ground-truth row of a record (no value needs CSV quoting)."""
    return f"{provider},{record.patient['id']},{person_key},{';'.join(record.cases)}\n"


def chunks(seed: int, providers: int, patients: int, workers: int = 1) -> Iterator[Chunk]:
    """Every chunk of the run, in order; with `workers` > 1, made by worker processes.

    Workers are spawned (not forked: the caller may hold threads, DuckDB's or Spark's,
    that a fork would copy), so a script that asks for them must guard its entry point
    with `if __name__ == "__main__":`. They pay off on machines whose cores are real;
    on the 2-vCPU development VM two processes run no faster than one.
    """
    bounds = [(start, min(start + CHUNK_PEOPLE, patients))
              for start in range(0, patients, CHUNK_PEOPLE)]  # fmt: skip
    if workers <= 1 or len(bounds) == 1:
        for start, stop in bounds:
            yield make_chunk(seed, providers, patients, start, stop)
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        pending: list[Future[Chunk]] = []
        ahead = 2 * workers  # chunks in flight: memory stays bounded
        for start, stop in bounds:
            pending.append(pool.submit(make_chunk, seed, providers, patients, start, stop))
            if len(pending) > ahead:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def make_chunk(seed: int, providers: int, patients: int, start: int, stop: int) -> Chunk:
    """The Patient records and ground-truth lines of people `start` to `stop`."""
    roster = _roster(seed, providers)
    kinds = [provider.kind for provider in roster]
    keys = [provider.key for provider in roster]
    lines: list[list[bytes]] = [[] for _ in roster]
    truth: list[str] = []
    counts = dict.fromkeys(CASES, 0)
    dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE
    for rng, person in people(seed, patients, start, stop):
        chosen = choose_providers(rng, kinds)
        for record in register(rng, person, roster, chosen, id_maker(rng.getrandbits)):
            lines[record.provider].append(dumps(record.patient, option=newline))
            truth.append(truth_line(keys[record.provider], record, person.key))
            for case in record.cases:
                counts[case] += 1
    return Chunk(
        start=start,
        stop=stop,
        patients=[b"".join(found) for found in lines],
        records=[len(found) for found in lines],
        truth="".join(truth).encode(),
        cases=list(counts.values()),
    )


@cache
def _roster(seed: int, providers: int) -> list[Provider]:
    return make_providers(providers, seed, literal_reference, conditional=False)
