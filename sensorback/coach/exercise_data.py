"""The exercise library, as plain data (edit here; exercises.py checks and loads it).

Written for sensorback in its own words. Fields of each entry:

- key: short id used on the command line and in events (lowercase, hyphens)
- name: display name
- summary: one line on what it does
- kind: "mobility", "stretch" or "strength"
- places: where it can be done: "desk" (at or beside the desk, no mat, office clothes),
  "standing" (on your feet), "floor" (needs floor space or a mat); break prompts only suggest
  exercises with "standing" (see exercises.PROMPT_POOL)
- level: "beginner" or "intermediate"
- reps: repetitions (or rounds), if counted
- hold_s: seconds to hold a position, if held
- per_side: True when reps/hold apply to each side
- steps: how to do it, one instruction per item
- caution: what to watch out for in this exercise (the general "stop at sharp pain" rule is added
  to every exercise by exercises.py)
"""

EXERCISES = (
    {
        "key": "cat-cow",
        "name": "Cat-cow",
        "summary": "Rock the spine slowly between rounded and arched to loosen a stiff back.",
        "kind": "mobility",
        "places": ("floor",),
        "level": "beginner",
        "reps": 10,
        "hold_s": None,
        "per_side": False,
        "steps": (
            "Get on your hands and knees: hands under the shoulders, knees under the hips.",
            "Breathing out, tuck your chin and tailbone and push the middle of your back up, like a cat "
            "stretching.",
            "Breathing in, let your belly drop toward the floor and lift your chest and eyes a little.",
            "Keep flowing slowly between the two shapes; one there-and-back is one round.",
        ),
        "caution": "Stay in the easy part of the range; pad your knees if they are uncomfortable.",
    },
    {
        "key": "childs-pose",
        "name": "Child's pose",
        "summary": "A resting position that lets the lower back lengthen and relax.",
        "kind": "stretch",
        "places": ("floor",),
        "level": "beginner",
        "reps": None,
        "hold_s": 30,
        "per_side": False,
        "steps": (
            "Kneel with your big toes together and your knees apart.",
            "Sit your hips back toward your heels.",
            "Slide your hands forward along the floor and let your chest sink toward it; rest your forehead "
            "down if it reaches.",
            "Breathe slowly, feeling the breath widen your lower back, and stay there.",
        ),
        "caution": "Put a folded towel between heels and hips, or under the knees, if they do not settle "
                   "comfortably.",
    },
    {
        "key": "knee-to-chest",
        "name": "Knee-to-chest",
        "summary": "Draw a knee toward you to ease tension in the lower back and buttock.",
        "kind": "stretch",
        "places": ("floor",),
        "level": "beginner",
        "reps": None,
        "hold_s": 25,
        "per_side": True,
        "steps": (
            "Lie on your back with both knees bent and feet flat.",
            "Hold one leg behind the thigh and bring that knee gently toward your chest.",
            "Keep the other foot on the floor and your lower back relaxed into it.",
            "Hold, breathing calmly, then lower the leg and change sides. Both knees together is a next step.",
        ),
        "caution": "Hold behind the thigh, not on the kneecap, especially if your knees are sore.",
    },
    {
        "key": "seated-forward-bend",
        "name": "Seated forward bend",
        "summary": "Fold forward from the hips to stretch the back of the body.",
        "kind": "stretch",
        "places": ("desk", "floor"),
        "level": "beginner",
        "reps": None,
        "hold_s": 25,
        "per_side": False,
        "steps": (
            "Sit on the front half of a steady chair, feet flat and a little wider than your hips "
            "(on the floor: sit with your legs straight out in front).",
            "Breathing out, hinge forward from the hips and let your chest move toward your thighs, "
            "hands sliding down your shins.",
            "Let your head and arms hang heavy and keep breathing slowly.",
            "Come up slowly, stacking the spine from the bottom up, and sit tall again.",
        ),
        "caution": "Use a chair that will not roll away, and come up slowly if you tend to feel light-headed.",
    },
    {
        "key": "pelvic-tilts",
        "name": "Pelvic tilts",
        "summary": "Small rolls of the pelvis that wake up the deep tummy muscles and move the lower back.",
        "kind": "mobility",
        "places": ("desk", "floor"),
        "level": "beginner",
        "reps": 10,
        "hold_s": None,
        "per_side": False,
        "steps": (
            "Sit tall near the front of your chair with your feet flat (or lie on your back, knees bent).",
            "Draw your belly in and roll the pelvis back so that your lower back rounds slightly.",
            "Then roll it the other way so that your lower back makes a small arch.",
            "Rock smoothly between the two while your shoulders and chest stay still.",
        ),
        "caution": "Keep the movement small and smooth; it is about control, not range.",
    },
    {
        "key": "torso-twists",
        "name": "Torso twists",
        "summary": "Gentle turns of the upper body that bring some rotation back into a stiff spine.",
        "kind": "mobility",
        "places": ("desk", "standing"),
        "level": "beginner",
        "reps": 8,
        "hold_s": None,
        "per_side": True,
        "steps": (
            "Stand with your feet hip-width apart, knees soft (or sit tall with your feet flat).",
            "Cross your arms over your chest or rest your hands on your shoulders.",
            "Turn your upper body slowly to one side as far as is comfortable, hips still facing forward.",
            "Return through the middle and turn to the other side.",
        ),
        "caution": "Turn with control rather than swinging, and keep the range small on a sore day.",
    },
    {
        "key": "bridges",
        "name": "Bridges",
        "summary": "Lift the hips off the floor to strengthen the buttocks and the muscles along the spine.",
        "kind": "strength",
        "places": ("floor",),
        "level": "beginner",
        "reps": 10,
        "hold_s": 3,
        "per_side": False,
        "steps": (
            "Lie on your back, knees bent, feet flat on the floor about hip-width apart, arms by your sides.",
            "Tighten your buttocks and raise your hips until knees, hips and shoulders are in one line.",
            "Pause at the top, then roll down slowly.",
        ),
        "caution": "Lift with your buttocks; do not push higher by arching the lower back.",
    },
    {
        "key": "dead-bugs",
        "name": "Dead bugs",
        "summary": "Slow opposite arm and leg reaches that teach the trunk to stay steady while the limbs move.",
        "kind": "strength",
        "places": ("floor",),
        "level": "intermediate",
        "reps": 8,
        "hold_s": None,
        "per_side": True,
        "steps": (
            "Lie on your back with your arms pointing at the ceiling and your knees bent at a right angle "
            "above your hips.",
            "Gently press the small of your back toward the floor.",
            "Slowly reach one arm back overhead while the opposite leg straightens toward the floor.",
            "Bring them back and repeat with the other pair.",
        ),
        "caution": "Only reach as far as you can keep your lower back resting on the floor.",
    },
    {
        "key": "plank",
        "name": "Plank",
        "summary": "Hold the body straight on forearms and toes to build endurance in the whole trunk.",
        "kind": "strength",
        "places": ("floor",),
        "level": "intermediate",
        "reps": 3,
        "hold_s": 20,
        "per_side": False,
        "steps": (
            "Lie face down with your elbows under your shoulders.",
            "Lift onto your forearms and toes (or knees, to make it easier) so that you form a straight "
            "line from head to heels.",
            "Hold, breathing normally, without letting the hips sag or rise.",
            "Rest and repeat; add a few seconds to each hold as it gets easier.",
        ),
        "caution": "End the hold as soon as your hips start to drop; use the knee version until the full "
                   "one feels steady.",
    },
    {
        "key": "hip-flexor-stretch",
        "name": "Hip flexor stretch",
        "summary": "Open up the front of the hip, which tightens from long hours in a chair.",
        "kind": "stretch",
        "places": ("floor", "standing"),
        "level": "beginner",
        "reps": None,
        "hold_s": 30,
        "per_side": True,
        "steps": (
            "Kneel on one knee on something soft, the other foot flat in front with the knee above the ankle "
            "(standing version: take a long step back, one hand on the desk).",
            "Tuck your tailbone slightly under and keep your trunk upright.",
            "Shift your weight forward until you feel a stretch at the front of the back hip.",
            "Hold, then change legs.",
        ),
        "caution": "Keep the lower back from arching; the stretch should be felt in the hip, not the back.",
    },
    {
        "key": "standing-hamstring-stretch",
        "name": "Standing hamstring stretch",
        "summary": "Lengthen the back of the thighs, which pull on the pelvis and lower back when tight.",
        "kind": "stretch",
        "places": ("standing", "desk"),
        "level": "beginner",
        "reps": None,
        "hold_s": 25,
        "per_side": True,
        "steps": (
            "Stand tall and put one heel a small step in front of you, that leg straight and toes up.",
            "Rest your hands on your hips or on the edge of the desk for balance.",
            "Keeping your back long, hinge forward from the hips until the back of that thigh stretches.",
            "Hold, stand up tall again and change legs.",
        ),
        "caution": "Fold from the hips with a long back instead of rounding down toward your toes.",
    },
    {
        "key": "pigeon-pose",
        "name": "Pigeon pose",
        "summary": "A deep hip opener that takes strain off the lower back.",
        "kind": "stretch",
        "places": ("floor",),
        "level": "intermediate",
        "reps": None,
        "hold_s": 45,
        "per_side": True,
        "steps": (
            "From hands and knees, bring one knee forward behind the same-side wrist, the shin angled "
            "across in front of you.",
            "Slide the other leg straight back and keep your hips square to the front.",
            "Stay up on your hands, or lower onto your forearms if that feels fine.",
            "Hold and breathe, then come back to hands and knees and change sides.",
        ),
        "caution": "Put a cushion under the front hip, or leave this one out, if your knee objects.",
    },
    {
        "key": "leg-swings",
        "name": "Leg swings",
        "summary": "Relaxed swings that loosen the hips and get the blood moving after sitting.",
        "kind": "mobility",
        "places": ("standing", "desk"),
        "level": "beginner",
        "reps": 10,
        "hold_s": None,
        "per_side": True,
        "steps": (
            "Stand side-on to your desk and hold it with one hand.",
            "Swing the outside leg forward and back in a loose arc, starting small and letting it grow.",
            "Keep your trunk tall and quiet while the leg moves.",
            "Turn round and swing the other leg.",
        ),
        "caution": "Keep the swing easy and controlled; it is not a kick.",
    },
)
