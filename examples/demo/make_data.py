"""Write the demo's dataset: short customer-support messages in four intents.

textcls ships no third-party data. This script writes the demo's train/validation/test CSVs from
templates and word lists, deterministically (seeded), so anyone can regenerate them and a test
checks the committed files match. Templates share words across intents and some messages are
ambiguous on purpose, so the task is learnable but not trivial.

    python examples/demo/make_data.py            # rewrites examples/demo/data/*.csv
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent

INTENTS: dict[str, dict[str, list[str]]] = {
    "billing": {
        "templates": [
            "I was charged {twice} for my {plan} this month",
            "why is my {bill} higher than last {period}",
            "please refund the {fee} on my {card}",
            "can I change the {card} you bill for my {plan}",
            "the {bill} shows a {fee} I do not recognise",
            "how do I get a receipt for my {plan} {period} payment",
        ],
        "twice": ["twice", "two times", "double", "three times"],
        "plan": ["subscription", "premium plan", "family plan", "annual plan", "account"],
        "bill": ["bill", "invoice", "statement", "monthly charge"],
        "period": ["month", "year", "week", "quarter"],
        "fee": ["late fee", "service fee", "charge", "payment", "extra fee"],
        "card": ["credit card", "debit card", "card", "bank account"],
    },
    "shipping": {
        "templates": [
            "my {item} has not arrived after {days}",
            "where is my {item}, the tracking says {status}",
            "can you ship my {item} to a {place} instead",
            "the {item} arrived {damaged}",
            "how long does {speed} delivery take to my {place}",
            "the courier left my {item} at the wrong {place}",
        ],
        "item": ["order", "package", "parcel", "headphones", "new phone", "laptop"],
        "days": ["two weeks", "ten days", "a month", "five days"],
        "status": ["delayed", "in transit", "delivered", "held at customs"],
        "place": ["address", "office", "neighbour", "pickup point", "house"],
        "damaged": ["damaged", "broken", "open", "wet", "crushed"],
        "speed": ["express", "standard", "next day", "international"],
    },
    "technical": {
        "templates": [
            "the app {crashes} when I {action}",
            "I get an error {code} every time I {action}",
            "my {device} will not connect to {network}",
            "the {feature} stopped working after the {update}",
            "the screen goes {blank} when I {action}",
            "how do I reset my {device} to fix the {feature}",
        ],
        "crashes": ["crashes", "freezes", "closes", "hangs"],
        "action": ["log in", "open settings", "upload a photo", "start a call", "pay"],
        "code": ["500", "404", "E42", "timeout", "unknown"],
        "device": ["phone", "router", "tablet", "smart speaker", "laptop"],
        "network": ["wifi", "bluetooth", "the internet", "my account"],
        "feature": ["sync", "notifications", "camera", "search", "payment screen"],
        "update": ["update", "latest version", "upgrade", "patch"],
        "blank": ["black", "white", "blank", "frozen"],
    },
    "account": {
        "templates": [
            "I forgot my {secret} and cannot log in",
            "how do I change the {detail} on my account",
            "please {close} my account",
            "someone else {hacked} my account",
            "I want to add {person} to my {plan}",
            "can I merge my two accounts into one {plan}",
        ],
        "secret": ["password", "username", "pin", "security answer"],
        "detail": ["email address", "phone number", "name", "address", "password"],
        "close": ["delete", "close", "deactivate", "pause"],
        "hacked": ["logged into", "changed the password of", "is using", "took over"],
        "person": ["my partner", "a family member", "my son", "a colleague"],
        "plan": ["family plan", "subscription", "profile", "premium plan"],
    },
}

#: Templates every intent uses: only the filled-in topic word tells the intent apart.
SHARED = [
    "I have a question about my {topic}",
    "something is wrong with my {topic}, can someone help",
    "who do I talk to about my {topic}",
    "still waiting for an answer about the {topic}",
]
TOPICS = {
    "billing": ["invoice", "refund", "charge", "receipt", "payment"],
    "shipping": ["delivery", "parcel", "tracking number", "courier", "package"],
    "technical": ["app", "router", "login screen", "update", "bluetooth"],
    "account": ["password", "username", "profile", "email address", "account settings"],
}
#: Messages that genuinely mention two intents; the label says which one the customer meant.
AMBIGUOUS = [
    ("the app charged me twice after the update", ["billing", "technical"]),
    ("I cannot log in to see my invoice", ["account", "billing"]),
    ("my parcel tracking page shows an error", ["shipping", "technical"]),
    ("I changed my address but the package went to the old one", ["shipping", "account"]),
    ("the payment screen freezes when I pay for express delivery", ["technical", "shipping"]),
    ("please refund me, someone used my account", ["billing", "account"]),
]
SHARED_SHARE = 0.3
AMBIGUOUS_SHARE = 0.08

#: Messages per intent. Validation and test are large (400 rows each) so that the report's
#: expected calibration error means something: at 60 rows one example moved a confidence bin's
#: accuracy by 2-10 points, and the temperature was fitted on 2-3 validation mistakes. Train
#: comes first in the seeded draw, so its rows do not depend on the other two sizes.
SPLITS = {"train": 60, "validation": 100, "test": 100}


def _fill(template: str, words: dict[str, list[str]], rng: random.Random) -> str:
    text = template
    for key, options in words.items():
        while "{" + key + "}" in text:
            text = text.replace("{" + key + "}", rng.choice(options), 1)
    if rng.random() < 0.3:
        text = rng.choice(["hi, ", "hello, ", "urgent: ", "please help, "]) + text
    if rng.random() < 0.3:
        text += rng.choice([" thanks", "!", "?", " asap", ", any idea?"])
    return text


def generate(seed: int = 2024) -> dict[str, list[tuple[str, str]]]:
    """Return rows per split; no text appears in two splits."""
    rng = random.Random(seed)
    seen: set[str] = set()
    rows: dict[str, list[tuple[str, str]]] = {split: [] for split in SPLITS}
    for split, per_intent in SPLITS.items():
        for intent, spec in INTENTS.items():
            words = {k: v for k, v in spec.items() if k != "templates"}
            made = 0
            while made < per_intent:
                draw = rng.random()
                if draw < AMBIGUOUS_SHARE:
                    options = [(t, ls) for t, ls in AMBIGUOUS if intent in ls]
                    base = rng.choice(options)[0] if options else rng.choice(spec["templates"])
                    text = _fill(base, words, rng)
                elif draw < AMBIGUOUS_SHARE + SHARED_SHARE:
                    shared = rng.choice(SHARED).replace("{topic}", rng.choice(TOPICS[intent]))
                    text = _fill(shared, words, rng)
                else:
                    text = _fill(rng.choice(spec["templates"]), words, rng)
                if text in seen:
                    continue
                seen.add(text)
                rows[split].append((text, intent))
                made += 1
        rng.shuffle(rows[split])
    return rows


def write(folder: Path = HERE / "data") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for split, split_rows in generate().items():
        with open(folder / f"{split}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["text", "label"])
            writer.writerows(split_rows)


if __name__ == "__main__":
    write()
