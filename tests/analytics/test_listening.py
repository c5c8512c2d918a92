"""The dashboard's 音视频 section: per lesson, listeners, completion, minutes played, and where
those who did not finish stopped."""

import re

from app.analytics import listening
from app.extensions import db
from app.media import progress
from tests import factories
from tests.media.helpers import course, processed


def test_each_lesson_counts_its_listeners_completion_minutes_and_drop_off(app, studio, samples):
    with app.app_context():
        item = course()
        media = processed(item, samples["audio"], item.sections[1])  # 9 seconds
        silent = processed(item, samples["audio"], item.sections[0])  # nobody plays it
        readers = [factories.reader() for _ in range(4)]
        db.session.commit()
        # One finishes, one gives up early (at 1 s: the first tenth), two in the middle.
        progress.record(readers[0].id, media, 9000, 9000, ended=True)
        progress.record(readers[1].id, media, 1000, 1000, ended=False)
        progress.record(readers[2].id, media, 4600, 30_000, ended=False)
        progress.record(readers[3].id, media, 4700, 4700, ended=False)
        table = listening.by_lesson()
        media_id, silent_id = media.id, silent.id

    first = table.iloc[0]
    assert first.media_id == media_id and first.lesson == "第二课"
    assert (first.listeners, first.completed, first.completion) == (4, 1, 0.25)
    # 9 + 1 + 30 + 4.7 seconds played; a report is capped at a minute, none was here.
    assert first.minutes == round((9000 + 1000 + 30_000 + 4700) / 60_000, 1)
    assert first.drop_off == [0, 1, 0, 0, 0, 2, 0, 0, 0, 0]
    nobody = table[table.media_id == silent_id].iloc[0]
    assert (nobody.listeners, nobody.completion, nobody.drop_off) == (0, 0.0, [0] * 10)

    page = studio.get("/studio/").get_data(as_text=True)
    section = re.search(r"data-listening>(.*?)</section>", page, re.S).group(1)
    assert "第二课" in section and "data-completion>25%<" in section


def test_a_shop_without_media_shows_no_section(app, studio):
    assert "data-listening" not in studio.get("/studio/").get_data(as_text=True)
