"""The commented starter shot list written by `multishot init` (it must render as it is)."""

STARTER = """\
# A multishot shot list (language version 1). Render it with:  multishot render THIS_FILE
# Field reference: the README's "The shot-list language" section.
multishot: 1
title: My First Film
logline: A courier races the dawn to deliver one last letter.   # read by the agent paradigm
style: 35mm film, warm amber palette, soft grain                 # part of every prompt
negative: blurry, watermark                                      # optional negative prompt
format: {resolution: 832x480, fps: 16, seed: 7}                  # these are the defaults

characters:                      # ids: lowercase letters, digits, _ and -
  ada:
    description: a young courier in a green cycling jacket, short black hair
    # reference: refs/ada.png    # optional identity image (a path inside this folder)

locations:
  street: {description: a narrow cobbled street between tall stone houses}
  square: {description: a wide market square with a clock tower}

scenes:
  - id: ride
    location: street
    time: dawn                   # dawn | day | dusk | night | free text
    shots:
      - id: opening
        size: wide               # extreme-wide wide full medium medium-close close extreme-close insert
        angle: high              # eye high low overhead dutch over-shoulder
        movement: crane-down     # static pan-* tilt-* dolly-in/out truck-* crane-* zoom-* orbit handheld
        duration: 3
        action: the street wakes as the first light touches the rooftops
        transition: dissolve     # cut (default) dissolve fade fade-to-white wipe-* slide-* circle-open match-cut bridge
      - id: ada-rides
        size: medium
        movement: truck-left
        characters: [ada]
        action: Ada pedals hard over the cobbles
        duration: 2.5
        transition: {type: cut}
  - id: arrival
    location: square
    time: day
    shots:
      - id: square
        size: wide
        action: the market square, the clock tower at its end
        duration: 2
      - id: clock
        size: close
        movement: zoom-in
        characters: [ada]
        action: Ada looks up at the clock tower
        dialogue: {ada: "Just in time."}
        duration: 2
"""
