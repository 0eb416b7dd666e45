"""`syncer schedule --queue`: each segment's job enqueues one task per destination."""

from __future__ import annotations

from syncer.queue.broker import QUEUE
from syncer.queue.tasks import enqueue_segment
from syncer.settings import Settings
from syncer.sync.service import SyncService
from tests.queue.conftest import QueueShop


def test_a_segments_job_enqueues_one_task_per_destination(queue_shop: QueueShop) -> None:
    queue_shop.add_segment("Gold")
    queue_shop.add_segment("Silver")
    settings = Settings(database_url=queue_shop.db_url, config_dir=queue_shop.config)
    service = SyncService(settings, queue_shop.env)
    lines = list(enqueue_segment(service, queue_shop.tasks, "Gold"))
    assert [line["destination"] for line in lines] == queue_shop.segments["Gold"]
    assert {line["outcome"] for line in lines} == {"enqueued"}
    assert queue_shop.queue.broker.do_qsize(QUEUE) == 3
    assert queue_shop.runs() == []  # nothing ran here: the workers run them
