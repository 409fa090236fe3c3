"""What the simulated user says. Sentences for pause handling carry "|" where the user
pauses; every split is mid-clause (never at a point where the sentence could be over), so
a listener who takes the turn there has interrupted."""

from __future__ import annotations

PAUSED = [
    "I was wondering | if you could tell me | how far it is from London to Paris.",
    "Can you remind me | what the name of | the largest ocean is?",
    "I would like to know | the best way to | keep fresh bread soft.",
    "Could you tell me | how many people | live in Canada?",
    "My friend and I | were trying to figure out | who painted the Mona Lisa.",
    "What is the difference | between a frog | and a toad?",
    "I need to find out | whether it is safe | to eat raw mushrooms.",
    "Do you know | how long it takes | to boil an egg?",
    "I have been meaning to ask | what the capital of | Australia is.",
    "Please tell me | which planet is | closest to the sun.",
    "I forgot | how many ounces | are in a pound.",
    "Could you explain | why the sky | looks blue during the day?",
    "I am trying to remember | the name of the author | who wrote Pride and Prejudice.",
    "How many | minutes are there | in a whole day?",
    "Tell me | what the tallest mountain | in Africa is called.",
    "I want to understand | how a rainbow | is formed.",
    "Can you say | what the boiling point of | water is in Fahrenheit?",
    "Is it true that | bats are the only mammals | that can fly?",
    "I would love to hear | which country has | the most islands.",
    "What do you call | a baby kangaroo | in English?",
    "Could you check | how many bones | an adult human has?",
    "I was reading about | the speed of | sound in air.",
    "Remind me | which ocean lies | between Africa and Australia.",
    "Do you happen to know | what the main ingredient in | guacamole is?",
]

QUESTIONS = [
    "What is the capital of France?",
    "How many days are in a week?",
    "What color is the sky on a clear day?",
    "Who wrote Romeo and Juliet?",
    "What is two plus two?",
    "What is the largest planet in our solar system?",
    "How many legs does a spider have?",
    "At what temperature does water boil?",
    "What language is spoken in Spain?",
    "What is the capital of Japan?",
    "How many hours are in a day?",
    "Which animal says moo?",
    "What is the opposite of hot?",
    "Name a fruit that is yellow.",
    "What is the capital of Italy?",
    "How many continents are there?",
    "What do bees make?",
    "Which planet is called the red planet?",
    "What is the first month of the year?",
    "How many minutes are in an hour?",
    "What is the capital of Germany?",
    "What is the tallest animal?",
    "How many wheels does a bicycle have?",
    "What is frozen water called?",
    "What is the chemical symbol for gold?",
    "How many sides does a triangle have?",
    "What is the largest ocean on Earth?",
    "Which season comes after winter?",
    "What do cows drink?",
    "What is the capital of Canada?",
]

# Requests that make any agent talk for a while, so an overlap lands while it speaks.
LONG = [
    "Tell me a long story about a brave little dragon.",
    "Explain in detail how a bicycle works.",
    "Describe your perfect summer holiday at the beach.",
    "Tell me everything you know about the Roman Empire.",
    "Explain how bread is made, step by step.",
    "Tell me a long story about a pirate who lost his ship.",
    "Describe how the water cycle works.",
    "Explain in detail how airplanes stay in the air.",
    "Tell me a long fairy tale about a princess and a fox.",
    "Describe the history of the bicycle.",
    "Explain how plants make their food from sunlight.",
    "Tell me a long story about a robot who learns to paint.",
]

# Interruptions change the subject or correct the request: the agent must stop and answer.
# None asks for what a tool does (time, weather, lights, timers): the response latency
# measures turn-taking, not a tool call.
INTERRUPTS = [
    "Wait, stop. Tell me about the moon instead.",
    "Sorry, actually, tell me a joke instead.",
    "Hold on, what is the capital of Spain?",
    "No, stop, I asked about something else.",
    "Wait, can you speak about cats instead?",
    "Stop please, how much is ten times ten?",
    "Actually, never mind, what is your favourite colour?",
    "Hang on, who invented the telephone?",
    "Sorry to interrupt, how do I say hello in French?",
    "Wait a second, how do you make tea?",
]

# (what it means, voice override or "", what the engine reads). 嗯 is read from pinyin:
# Debian's espeak-ng has no Mandarin dictionary for Hanzi.
BACKCHANNELS = [
    ("mm-hmm", "", "mm-hmm"),
    ("yeah", "", "yeah"),
    ("right", "", "right"),
    ("uh-huh", "", "uh-huh"),
    ("okay", "", "okay"),
    ("嗯", "espeak:pinyin", "en4"),
]

# The user turns away to talk to someone in the room (v1.5 "talking to others").
SIDE_TALK = [
    "Honey, can you turn the oven off please?",
    "Just a second, I am on a call.",
    "Yes, put it on the kitchen table, thanks.",
    "Can you close the door, it is cold in here.",
    "I will be there in five minutes, okay?",
    "Did you already feed the cat this morning?",
]

# Someone else talking in the background, like a television (v1.5 "background speech").
BACKGROUND = [
    "And now the weather for the weekend, with sunshine across the south.",
    "The home team scored again in the final minute of the game.",
    "Stay tuned, after the break we will talk to the mayor about the new bridge.",
    "Prices at the market went up again this week, traders say.",
    "In other news, the museum opens a new exhibition on ancient Egypt tomorrow.",
    "Traffic is heavy on the main road, so plan a little extra time.",
]

# Categories the detectors were not tuned on (reported apart from the ones above).
# Soft interruptions: the user really takes the floor, only quietly (a new request or a
# correction the agent must stop for and answer). Written fresh, none asks for a tool.
SOFT_INTERRUPTS = [
    "Excuse me, could you tell me about volcanoes instead?",
    "Sorry, I meant something different, tell me about whales.",
    "One moment, how many legs does an octopus have?",
    "Let me stop you there, what is the biggest desert?",
    "Actually, please talk about trains instead.",
    "Pardon me, who wrote the Odyssey?",
    "Sorry, can we switch to a poem about rain?",
    "Just a moment, what is the square root of eighty one?",
]

# Acknowledgements chosen without looking at the agent's built-in backchannel list
# (antiphon/cascade/backchannel.py); a test checks each carries a word outside it.
UNLISTED_BACKCHANNELS = [
    "makes sense",
    "go on",
    "fair enough",
    "interesting",
    "of course",
    "no kidding",
    "exactly",
    "I hear you",
]
