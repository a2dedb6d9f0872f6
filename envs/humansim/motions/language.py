"""Ground-truth wording: imperative instructions with paraphrases, and Ego4D-style narrations.

Every instruction names the object by colour and category (and the destination when there is
one), as VITRA's annotations do; the first phrasing of each list is the canonical one and the
others become ``Segment.rephrases``. Narrations imitate Ego4D's: "#C C <verb>s <object>", short,
present tense, without colours most of the time.
"""

from __future__ import annotations

from dataclasses import dataclass

from envs.humansim.spec import Prop


def category(prop: Prop) -> str:
    return prop.category.replace("_", " ")


def noun(prop: Prop) -> str:
    """"the red cup"-style name (without the article)."""
    return f"{prop.colour} {category(prop)}"


def other_hand(hand: str) -> str:
    return "left" if hand == "right" else "right"


_TOWARD = {"in": "into", "on": "onto"}


@dataclass(frozen=True)
class Place:
    """Where something is put, in words: ``relation`` is "in", "on", "next to" or a table region."""

    relation: str
    reference: Prop | None = None  # the container or neighbour, if any

    def phrase(self) -> str:
        """" in the blue bowl", " on the left side of the table" (with a leading space)."""
        if self.reference is not None:
            return f" {self.relation} the {noun(self.reference)}"
        return {
            "left": " on the left side of the table",
            "right": " on the right side of the table",
            "middle": " in the middle of the table",
            "far": " at the far side of the table",
            "near": " closer to you on the table",
        }[self.relation]

    def goal(self) -> str:
        """The same place after a verb of motion: " into the blue bowl", " to the left side of the table"."""
        if self.reference is not None:
            return f" {_TOWARD.get(self.relation, self.relation)} the {noun(self.reference)}"
        return {
            "left": " to the left side of the table",
            "right": " to the right side of the table",
            "middle": " to the middle of the table",
            "far": " to the far side of the table",
            "near": " closer to you",
        }[self.relation]


def grasp(prop: Prop, hand: str, handle: bool) -> list[str]:
    n = noun(prop)
    if handle:
        return [
            f"Grab the {n} by its handle.",
            f"Take hold of the handle of the {n}.",
            f"Reach for the {n} and grip its handle.",
            f"Grasp the {n} by the handle with your {hand} hand.",
        ]
    return [
        f"Grasp the {n}.",
        f"Reach for the {n} and grab it.",
        f"Take hold of the {n}.",
        f"Grab the {n} with your {hand} hand.",
    ]


def hold_steady(prop: Prop, hand: str) -> list[str]:
    n = noun(prop)
    return [f"Hold the {n} steady.", f"Grab the {n} to keep it in place.", f"Steady the {n} with your {hand} hand.", f"Hold on to the {n}."]


def lift(prop: Prop) -> list[str]:
    n = noun(prop)
    return [f"Pick up the {n}.", f"Lift the {n} off the table.", f"Raise the {n}.", f"Pick the {n} up from the table."]


def place(prop: Prop, where: Place) -> list[str]:
    n, at, to = noun(prop), where.phrase(), where.goal()
    third = f"Drop the {n}{at}." if where.relation == "in" else f"Set the {n} down{at}."
    return [f"Put the {n}{at}.", f"Place the {n}{at}.", third, f"Move the {n}{to}."]


def put_back(prop: Prop) -> list[str]:
    n = noun(prop)
    return [f"Put the {n} back on the table.", f"Set the {n} back down.", f"Place the {n} back on the table.", f"Put the {n} down again."]


def retract(hand: str, released: Prop | None) -> list[str]:
    if released is None:
        return [
            f"Move your {hand} hand back.",
            f"Bring your {hand} hand back to rest.",
            f"Pull your {hand} hand back toward you.",
            f"Return your {hand} hand to the edge of the table.",
        ]
    n = noun(released)
    return [
        f"Let go of the {n} and pull your hand back.",
        f"Release the {n}.",
        f"Let go of the {n} and move your {hand} hand away.",
        f"Take your {hand} hand off the {n}.",
    ]


def reach_behind(prop: Prop) -> list[str]:
    n = noun(prop)
    return [f"Put your hand behind the {n}.", f"Reach behind the {n}.", f"Place your fingers against the {n}.", f"Move your hand up to the {n}."]


def push(prop: Prop, direction: str) -> list[str]:
    n = noun(prop)
    way = {"forward": "forward", "left": "to the left", "right": "to the right"}[direction]
    extra = "away from you" if direction == "forward" else way
    return [f"Push the {n} {way}.", f"Slide the {n} {extra}.", f"Nudge the {n} {way}.", f"Push the {n} {extra} across the table."]


def bring_over(prop: Prop, receiver: Prop) -> list[str]:
    n, r = noun(prop), noun(receiver)
    return [f"Bring the {n} over to the {r}.", f"Lift the {n} above the {r}.", f"Hold the {n} over the {r}.", f"Move the {n} next to the {r}."]


def pour(prop: Prop, receiver: Prop) -> list[str]:
    n, r = noun(prop), noun(receiver)
    return [f"Pour the {n} into the {r}.", f"Pour from the {n} into the {r}.", f"Tilt the {n} to pour into the {r}.", f"Empty the {n} into the {r}."]


def wipe(prop: Prop, sweep: bool) -> list[str]:
    n = noun(prop)
    if sweep:
        return [f"Sweep the table with the {n}.", f"Brush the table with the {n}.", f"Use the {n} to sweep the table.", f"Sweep across the table with the {n}."]
    return [f"Wipe the table with the {n}.", f"Clean the table with the {n}.", f"Scrub the table with the {n}.", f"Rub the {n} over the table."]


def open_(prop: Prop) -> list[str]:
    n = noun(prop)
    return [f"Open the {n}.", f"Pull the {n} open.", f"Pull out the {n}.", f"Slide the {n} open toward you."]


def take_off(prop: Prop) -> list[str]:
    n = noun(prop)
    return [f"Take off the {n}.", f"Lift the {n} off.", f"Open it by lifting the {n}.", f"Remove the {n}."]


def hand_over(prop: Prop, giver: str) -> list[str]:
    n, to = noun(prop), other_hand(giver)
    return [f"Hand the {n} to your {to} hand.", f"Pass the {n} to your {to} hand.", f"Give the {n} to the {to} hand.", f"Transfer the {n} to your {to} hand."]


def take_over(prop: Prop, giver: str) -> list[str]:
    n, taker = noun(prop), other_hand(giver)
    return [f"Take the {n} from your {giver} hand.", f"Receive the {n} with your {taker} hand.", f"Grab the {n} from the {giver} hand.", f"Take over the {n} with your {taker} hand."]


# --- narrations (Ego4D style) ------------------------------------------------------------------


def narration(verb: str, prop: Prop | None = None, rest: str = "", hand: str | None = None, colour: bool = False) -> str:
    """"#C C picks up a cup", "#C C puts the cup in the bowl with the left hand"."""
    text = f"#C C {verb}"
    if prop is not None:
        text += f" the {noun(prop) if colour else category(prop)}"
    text += rest
    if hand is not None:
        text += f" with the {hand} hand"
    return text
