"""Built-in dialogue templates: topics × personas × dialogue kinds, chosen by a seeded RNG.

Each topic carries questions with answers, a task with steps and a small-talk remark, so
the three kinds (questions and answers, small talk, instructions) can be written for any
topic; personas change how the agent opens, acknowledges and closes. 16 topics × 4
personas × 3 kinds × the question order give several hundred distinct scripts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Topic:
    name: str
    qa: tuple[tuple[str, str], ...]
    task: str  # "how do I ..." object
    steps: tuple[str, ...]
    remark: str


@dataclass(frozen=True)
class Persona:
    name: str
    greet: tuple[str, ...]
    ack: tuple[str, ...]
    close: tuple[str, ...]


# fmt: off
TOPICS: tuple[Topic, ...] = (
    Topic("the weather", (("What is the weather like today?", "It is mild and sunny, with a light breeze from the west."), ("Will it rain tomorrow?", "There is a small chance of rain in the afternoon, so take an umbrella just in case."), ("How cold will it get tonight?", "It should drop to about eight degrees, so a jacket would be wise.")), "prepare for a storm", ("Bring anything loose inside from the garden", "charge your phone and a flashlight", "and keep some water and snacks at hand."), "I love the smell of the air after a summer storm."),
    Topic("cooking pasta", (("How long should I boil pasta?", "Most dried pasta needs about nine to eleven minutes, but check the packet."), ("Should I salt the water?", "Yes, salt it well, it is the only chance to season the pasta itself."), ("How do I stop it from sticking?", "Use plenty of water and stir it during the first minute.")), "make a simple tomato sauce", ("Warm some olive oil with sliced garlic", "add a can of crushed tomatoes and a pinch of salt", "then let it simmer for fifteen minutes."), "Nothing beats a bowl of pasta on a cold evening."),
    Topic("the train to the city", (("When does the next train leave?", "The next train leaves at ten past nine from platform two."), ("How long is the trip?", "It takes about forty minutes if there are no delays."), ("Can I buy a ticket on board?", "You can, but it costs a little more than at the station.")), "buy a train ticket online", ("Open the rail company's website", "choose your stations and the time", "then pay and keep the code on your phone."), "Trains are a lovely way to watch the countryside go by."),
    Topic("learning the guitar", (("How often should I practice the guitar?", "Twenty minutes every day works better than two hours once a week."), ("Which chords should I learn first?", "Start with G, C, D and E minor, they cover hundreds of songs."), ("Why do my fingertips hurt?", "That is normal at first, they will toughen up in a couple of weeks.")), "tune a guitar", ("Pluck the lowest string and compare it with a tuner", "turn the peg slowly until the note is right", "and repeat for each string."), "There is something calming about playing a few chords at night."),
    Topic("gardening", (("When should I plant tomatoes?", "Plant them outside after the last frost, usually in late spring."), ("How much should I water them?", "Water deeply two or three times a week rather than a little every day."), ("Why are my leaves turning yellow?", "It is often too much water or a lack of nitrogen in the soil.")), "start a herb garden", ("Pick a sunny spot or a bright window", "fill a few pots with good soil", "and sow basil, parsley and chives."), "Fresh herbs from the garden make every meal better."),
    Topic("running", (("How do I start running?", "Begin with short intervals, one minute running and two minutes walking."), ("How many times a week should I run?", "Three runs a week is a good start, with rest days in between."), ("What shoes should I buy?", "Choose a comfortable pair that fits well, and try them in the shop.")), "warm up before a run", ("Walk briskly for five minutes", "do some leg swings and gentle lunges", "then start jogging slowly."), "A morning run really clears my head."),
    Topic("the library", (("What time does the library open?", "It opens at nine in the morning and closes at six."), ("How many books can I borrow?", "You can borrow up to ten books for three weeks."), ("Do I need a card?", "Yes, but the card is free, you only need proof of address.")), "renew a library book", ("Log in to the library website with your card number", "open the list of your loans", "and press renew next to the book."), "I could spend a whole afternoon in a quiet library."),
    Topic("coffee", (("How do I make good coffee at home?", "Use fresh beans, grind them just before brewing, and weigh the coffee."), ("How much coffee per cup?", "About fifteen grams of coffee for two hundred and fifty grams of water."), ("Is it bad to drink coffee late?", "It can keep you awake, so try to stop by early afternoon.")), "clean a coffee machine", ("Run a cycle with water and a little vinegar", "then run two cycles with clean water", "and wipe the outside with a damp cloth."), "The first cup of coffee is the best part of my morning."),
    Topic("a new phone", (("How do I move my contacts to a new phone?", "Sign in with the same account and the contacts will sync by themselves."), ("How can I make the battery last longer?", "Lower the screen brightness and close apps you are not using."), ("Should I buy a case?", "A case is cheap and can save you from an expensive repair.")), "back up a phone", ("Connect to wifi and open the settings", "turn on the backup option", "and let it finish while the phone is charging."), "New phones are fun, but I always miss the old one a little."),
    Topic("baking bread", (("Why did my bread not rise?", "The yeast may have been old, or the kitchen was too cold."), ("How long should I knead the dough?", "About ten minutes by hand, until it feels smooth and springy."), ("How do I know the bread is done?", "Tap the bottom, if it sounds hollow, it is ready.")), "bake a simple loaf", ("Mix flour, water, yeast and salt", "knead it and let it rise for an hour", "then shape it and bake for thirty minutes."), "The smell of fresh bread fills the whole house."),
    Topic("the moon", (("How far away is the moon?", "It is about three hundred and eighty thousand kilometres away."), ("Why does the moon change shape?", "We see different parts of its sunlit side as it circles the earth."), ("Has anyone walked on the moon?", "Yes, twelve astronauts walked on it between nineteen sixty nine and nineteen seventy two.")), "photograph the moon", ("Put your camera on a steady surface", "zoom in and lower the exposure", "and take the picture a little after sunset."), "A full moon over the sea is a beautiful sight."),
    Topic("saving money", (("How can I save more money each month?", "Write down what you spend for a month, then cut the things you do not miss."), ("Is it worth having a budget?", "Yes, a simple budget shows you where the money really goes."), ("How much should I keep for emergencies?", "Aim for about three months of living costs.")), "set up a savings plan", ("Decide on a monthly amount", "set up an automatic transfer on payday", "and leave the money alone."), "It feels good to watch the savings grow, slowly."),
    Topic("a birthday party", (("What food should I serve at a party?", "Simple finger food works well, like sandwiches, fruit and small pastries."), ("How many people should I invite?", "Invite as many as fit comfortably, about fifteen for a flat."), ("What games can we play?", "A quiz about the birthday person is always a hit.")), "plan a surprise party", ("Pick a date and a place", "invite the guests quietly", "and ask a friend to bring the person at the right time."), "Surprise parties are stressful to plan but so much fun."),
    Topic("sleeping well", (("Why can I not fall asleep?", "Screens, caffeine and stress are the usual reasons."), ("How many hours should I sleep?", "Most adults need seven to nine hours a night."), ("Is a nap a good idea?", "A short nap of twenty minutes can help, but not late in the day.")), "build a bedtime routine", ("Go to bed at the same time each night", "put the phone away an hour before", "and keep the bedroom cool and dark."), "A good night of sleep makes everything easier."),
    Topic("learning Spanish", (("How do I say thank you in Spanish?", "You say gracias, and muchas gracias for thank you very much."), ("How long does it take to learn Spanish?", "With daily practice, basic conversations take a few months."), ("Should I watch films in Spanish?", "Yes, with subtitles at first, it helps your ear a lot.")), "practice speaking a new language", ("Find a language partner online", "talk for fifteen minutes a few times a week", "and write down new words after each chat."), "Spanish sounds so warm and musical."),
    Topic("cycling to work", (("Is it safe to cycle to work?", "It is quite safe with lights, a helmet and a route on quiet streets."), ("What should I wear?", "Wear something bright, and bring a change of clothes if it is far."), ("How do I fix a flat tyre?", "Remove the wheel, find the hole, and patch the tube or put in a new one.")), "prepare a bike for winter", ("Clean and oil the chain", "check the brakes and the tyres", "and fit bright front and rear lights."), "Cycling in the morning wakes me up better than coffee."),
)

PERSONAS: tuple[Persona, ...] = (
    Persona("friendly", ("Hi there, how can I help?", "Hello, what can I do for you today?"), ("Sure.", "Of course."), ("Happy to help, have a great day.", "You are welcome, enjoy!")),
    Persona("concise", ("Yes?", "Go ahead."), ("Right.", "Okay."), ("Done.", "Anything else?")),
    Persona("cheerful", ("Hey, great to hear from you!", "Hello hello, what is on your mind?"), ("Oh, great question!", "Ooh, I love this one."), ("That was fun, talk soon!", "Good luck, you will do great!")),
    Persona("calm teacher", ("Good morning, what would you like to learn today?", "Hello, let us take it step by step."), ("Let me explain.", "Good, so here is the idea."), ("Take your time, and practice a little every day.", "Well done, that is enough for today.")),
)

# fmt: on
KINDS = ("qa", "smalltalk", "instructions")
_USER_OPEN = ("Hi.", "Hello there.", "Hey, quick question.", "Good morning.")
_USER_THANKS = (
    "Thanks a lot.",
    "Great, thank you.",
    "Okay, thanks.",
    "Perfect, thanks for the help.",
)
_USER_SMALL = ("How are you doing today?", "How is your day going?", "Are you busy right now?")
_AGENT_SMALL = (
    "I am doing well, thanks for asking.",
    "Pretty good, it has been a busy day.",
    "Not at all, I have plenty of time.",
)


def template_script(rng: np.random.Generator) -> tuple[str, list[tuple[str, str]]]:
    """(description, [(speaker, text), ...]) drawn from the templates."""
    topic = TOPICS[int(rng.integers(len(TOPICS)))]
    persona = PERSONAS[int(rng.integers(len(PERSONAS)))]
    kind = KINDS[int(rng.integers(len(KINDS)))]

    def pick(options: tuple[str, ...]) -> str:
        return options[int(rng.integers(len(options)))]

    turns = [("user", pick(_USER_OPEN)), ("agent", pick(persona.greet))]
    if kind == "qa":
        order = rng.permutation(len(topic.qa))[: int(rng.integers(1, len(topic.qa) + 1))]
        for i, j in enumerate(order):
            q, a = topic.qa[int(j)]
            turns += [("user", q), ("agent", a if i else f"{pick(persona.ack)} {a}")]
    elif kind == "smalltalk":
        turns += [("user", pick(_USER_SMALL)), ("agent", pick(_AGENT_SMALL))]
        turns += [("user", f"I was just thinking about {topic.name}.")]
        turns += [("agent", topic.remark), ("user", topic.qa[0][0]), ("agent", topic.qa[0][1])]
    else:
        turns += [("user", f"Can you tell me how to {topic.task}?")]
        turns += [("agent", f"{pick(persona.ack)} {', '.join(topic.steps)}")]
        q, a = topic.qa[int(rng.integers(len(topic.qa)))]
        turns += [("user", f"Okay. And one more thing, {q[0].lower()}{q[1:]}"), ("agent", a)]
    turns += [("user", pick(_USER_THANKS)), ("agent", pick(persona.close))]
    return f"template:{kind}/{topic.name}/{persona.name}", turns
