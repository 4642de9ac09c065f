"""Opening a conversation and loading an older page must cost the same with 100 or 100,000
messages in it (keyset pagination on (conversation_id, id), never OFFSET).

    .venv/bin/python bench/chat_history.py [--big 100000] [--runs 30]

Builds a temporary SQLite database (or DATABASE_URL's PostgreSQL) through the migrations,
fills two conversations, then times the real HTTP routes through Flask's test client: the
full conversation page, and an older page from the middle of the history (HTMX fragment).
Prints JSON (milliseconds, medians and p95 over --runs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from fresh_app import migrated_app  # bench/ is the script's folder: first on the path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    app, url = migrated_app("hs-bench-history-")

    from sqlalchemy import insert

    from webapp import crypto
    from webapp.accounts import services as accounts
    from webapp.chat import services
    from webapp.chat.models import Conversation, Message
    from webapp.extensions import db

    with app.app_context():
        a = accounts.create_user(
            email="a@bench.test",
            display_name="A",
            role="professional",
            profession="Nurse",
            rpps="11111111111",
            password="bench-password-1",
        )
        b = accounts.create_user(
            email="b@bench.test",
            display_name="B",
            role="professional",
            profession="GP",
            rpps="22222222222",
        )
        db.session.commit()
        sizes = {"small": args.small, "big": args.big}
        conversations = {}
        for label, n in sizes.items():
            conv = services.start_conversation(a, patient=None, member_ids=[b.id], subject=label)
            conversations[label] = conv.id
            start = services.now()
            batch = []
            for i in range(n):
                cid = f"{label}-{i:07d}-bench"
                author = a.id if i % 2 else b.id
                batch.append(
                    {
                        "conversation_id": conv.id,
                        "author_id": author,
                        "client_id": cid,
                        "body_sealed": crypto.seal(
                            f"Message {i} of {label}", Message.body_aad(cid)
                        ),
                        "created_at": start,
                    }
                )
                if len(batch) == 5000:
                    db.session.execute(insert(Message), batch)
                    batch = []
            if batch:
                db.session.execute(insert(Message), batch)
            last = db.session.scalar(
                db.select(db.func.max(Message.id)).where(Message.conversation_id == conv.id)
            )
            db.session.get(Conversation, conv.id).last_message_id = last
            db.session.commit()
        middles = {}
        for label, cid in conversations.items():
            ids = db.session.scalars(
                db.select(Message.id).where(Message.conversation_id == cid).order_by(Message.id)
            ).all()
            middles[label] = ids[len(ids) // 2]

    client = app.test_client()
    client.post("/accounts/sign-in", data={"email": "a@bench.test", "password": "bench-password-1"})

    paths = {}
    for label, cid in conversations.items():
        paths[f"open_{label}"] = (f"/chat/{cid}", None)
        paths[f"older_page_{label}"] = (
            f"/chat/{cid}/messages?before={middles[label]}",
            {"HX-Request": "true"},
        )
    samples: dict[str, list[float]] = {key: [] for key in paths}
    for path, headers in paths.values():  # warm every path once
        client.get(path, headers=headers)
    # Interleaved, so drift on a shared machine hits both sizes alike.
    for _ in range(args.runs):
        for key, (path, headers) in paths.items():
            t0 = time.perf_counter()
            response = client.get(path, headers=headers)
            samples[key].append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, response.status_code

    def summary(values):
        values = sorted(values)
        return {
            "median_ms": round(statistics.median(values), 2),
            "p95_ms": round(values[max(0, int(len(values) * 0.95) - 1)], 2),
        }

    result = {"database": url.split(":")[0], "runs": args.runs, "sizes": sizes}
    for key, values in samples.items():
        result[key] = summary(values)
    result["ratio_open"] = round(
        result["open_big"]["median_ms"] / result["open_small"]["median_ms"], 2
    )
    result["ratio_older_page"] = round(
        result["older_page_big"]["median_ms"] / result["older_page_small"]["median_ms"], 2
    )
    result["target_ratio_at_most"] = 1.3
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
