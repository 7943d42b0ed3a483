#!/usr/bin/env python3
"""Writes config/demo.ics: the bundled demo calendar of Alex Rivera (alex@example.com).

The series start in 2025 and never end, so the demo shows upcoming 1:1s at any date;
the dated exceptions (moved and cancelled occurrences, per-meeting notes) are generated
for every cycle from 2025-09 to 2029-12 so that "the last meeting" always has some.
Run from the repository root: python3 config/make-demo-ics.py > config/demo.ics
"""
from datetime import date, datetime, timedelta

BERLIN_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Berlin
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE"""

NEW_YORK_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:America/New_York
BEGIN:DAYLIGHT
TZOFFSETFROM:-0500
TZOFFSETTO:-0400
TZNAME:EDT
DTSTART:20070311T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=2SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:-0400
TZOFFSETTO:-0500
TZNAME:EST
DTSTART:20071104T020000
RRULE:FREQ=YEARLY;BYMONTH=11;BYDAY=1SU
END:STANDARD
END:VTIMEZONE"""

# As Outlook writes it: a Windows zone name, defined by the file's own VTIMEZONE.
OUTLOOK_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16011028T030000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010325T020000
RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE"""

STAMP = "20250901T080000Z"
ALEX = ("Alex Rivera", "alex@example.com")
DANA = ("Dana Kim", "dana@example.com")
SAM = ("Sam Okafor", "sam@example.com")
PRIYA = ("Priya Natarajan", "priya@partner-agency.com")
JORDAN = ("Jordan Lee", "jordan@example.com")
TEAM = [("Chris Novak", "chris@example.com"), ("Mei Tanaka", "mei@example.com")]

NOTE_TOPICS = [
    "Dana wants more ownership of the billing API; we agreed she leads the next design review.",
    "Talked about workload: two on-call weeks in a row were too much. Alex will fix the rota.",
    "Career: Dana is interested in the staff track. Start collecting examples of cross-team impact.",
    "Feedback both ways: planning meetings run long; Dana felt heard on the API naming debate.",
    "Dana is mentoring the new hire and enjoys it; keep that going next quarter.",
    "Discussed the conference talk proposal; the draft is strong, tighten the intro.",
]

AGENDA_TOPICS = [
    ["Billing API design review", "Hiring loop feedback"],
    ["On-call rota", "Q-planning priorities"],
    ["Staff-track expectations", "Conference talk"],
    ["Team retro follow-ups", "Learning budget"],
]


def fold(line):
    """RFC 5545 §3.1: lines longer than 75 octets are folded with CRLF + space."""
    out, raw = [], line.encode("utf-8")
    while len(raw) > 75:
        cut = 75 if not out else 74
        while cut > 0 and (raw[cut] & 0xC0) == 0x80:
            cut -= 1
        out.append(raw[:cut].decode("utf-8"))
        raw = raw[cut:]
    out.append(raw.decode("utf-8"))
    return "\r\n ".join(out)


def text(value):
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def attendee(person, partstat="ACCEPTED", cutype="INDIVIDUAL", role="REQ-PARTICIPANT"):
    name, email = person
    return f"ATTENDEE;CN={name};CUTYPE={cutype};ROLE={role};PARTSTAT={partstat}:mailto:{email}"


def organizer(person):
    return f"ORGANIZER;CN={person[0]}:mailto:{person[1]}"


def vevent(props):
    return ["BEGIN:VEVENT", f"DTSTAMP:{STAMP}"] + props + ["END:VEVENT"]


def local(tzid, when):
    quoted = f'"{tzid}"' if " " in tzid else tzid
    return f"TZID={quoted}:{when.strftime('%Y%m%dT%H%M%S')}"


def month_name(d):
    return d.strftime("%B %Y")


def dana_series():
    uid = "demo-dana-weekly@tete.example"
    first = datetime(2025, 9, 2, 10, 0)  # a Tuesday
    people = [attendee(ALEX), attendee(DANA)]
    lines = vevent([
        f"UID:{uid}", "SUMMARY:Alex / Dana 1:1",
        f"DTSTART;{local('Europe/Berlin', first)}",
        f"DTEND;{local('Europe/Berlin', first + timedelta(minutes=30))}",
        "RRULE:FREQ=WEEKLY;BYDAY=TU",
        organizer(ALEX), *people,
        "DESCRIPTION:" + text("Weekly 1:1. Write action items as checkboxes; tick them when done.\n\n"
                              "- [ ] Alex: set up the skip-level with Dana's tech lead"),
    ])
    # Every second week an override with that meeting's notes and items; every
    # eighth week the meeting moves to Wednesday (a moved instance).
    when, n = first, 0
    while when.year < 2030:
        if n % 2 == 0:
            moved = n % 8 == 4
            start = when + timedelta(days=1) if moved else when
            month = month_name(when)
            prev = month_name(when - timedelta(days=28))
            agenda = AGENDA_TOPICS[(n // 2) % len(AGENDA_TOPICS)]
            body = (
                "Agenda:\n" + "\n".join(f"- {a}" for a in agenda) + "\n\n"
                "Action items:\n"
                f"- [ ] Dana: send the {month} metrics summary\n"
                f"- [ ] @alex review Dana's {month} design doc\n"
                f"- [x] Dana: send the {prev} metrics summary\n"
                f"- [x] Alex: review Dana's {prev} design doc\n"
                + ("- [x] Alex: set up the skip-level with Dana's tech lead\n" if when.year >= 2026 and when.month in (3, 9) else "")
                + "\nNotes:\n" + NOTE_TOPICS[(n // 2) % len(NOTE_TOPICS)]
            )
            lines += vevent([
                f"UID:{uid}", "SUMMARY:Alex / Dana 1:1" + (" (moved to Wednesday)" if moved else ""),
                f"RECURRENCE-ID;{local('Europe/Berlin', when)}",
                f"DTSTART;{local('Europe/Berlin', start)}",
                f"DTEND;{local('Europe/Berlin', start + timedelta(minutes=30))}",
                "SEQUENCE:1", organizer(ALEX), *people,
                "DESCRIPTION:" + text(body),
            ])
        when += timedelta(weeks=1)
        n += 1
    return lines


def sam_series():
    uid = "demo-sam-biweekly@tete.example"
    first = datetime(2025, 9, 4, 15, 0)  # a Thursday
    people = [attendee(ALEX), attendee(SAM)]
    lines = vevent([
        f"UID:{uid}", "SUMMARY:1:1 Sam <> Alex",
        f"DTSTART;{local('Europe/Berlin', first)}",
        f"DTEND;{local('Europe/Berlin', first + timedelta(minutes=45))}",
        "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TH",
        organizer(SAM), *people,
        "DESCRIPTION:" + text("Talking points:\n- How is the on-call handover going?\n\n"
                              "TODO: Sam: write up the incident review for the payments outage\n"
                              "Action: Alex: intro Sam to the data platform team"),
    ])
    # Every fifth meeting is cancelled (RECURRENCE-ID + STATUS:CANCELLED, as Google
    # exports it); every seventh is removed with EXDATE (as Outlook does).
    exdates = []
    when, n = first, 0
    while when.year < 2030:
        if n % 5 == 2:
            lines += vevent([
                f"UID:{uid}", "SUMMARY:1:1 Sam <> Alex", "STATUS:CANCELLED",
                f"RECURRENCE-ID;{local('Europe/Berlin', when)}",
                f"DTSTART;{local('Europe/Berlin', when)}",
                f"DTEND;{local('Europe/Berlin', when + timedelta(minutes=45))}",
                "SEQUENCE:2", organizer(SAM), *people,
            ])
        elif n % 7 == 6:
            exdates.append(when)
        when += timedelta(weeks=2)
        n += 1
    master_end = lines.index("END:VEVENT")
    for chunk in range(0, len(exdates), 6):
        values = ",".join(d.strftime("%Y%m%dT%H%M%S") for d in exdates[chunk:chunk + 6])
        lines.insert(master_end, f"EXDATE;TZID=Europe/Berlin:{values}")
        master_end += 1
    return lines


def priya_series():
    # Across domains and across the Atlantic: Priya's office is in New York, so the
    # meeting shifts for Berlin during the weeks when only one side is on summer time.
    uid = "demo-priya-monthly@tete.example"
    first = datetime(2025, 9, 1, 11, 0)  # first Monday of September 2025
    return vevent([
        f"UID:{uid}", "SUMMARY:Priya / Alex monthly check-in",
        f"DTSTART;{local('America/New_York', first)}",
        f"DTEND;{local('America/New_York', first + timedelta(minutes=50))}",
        "RRULE:FREQ=MONTHLY;BYDAY=1MO",
        organizer(PRIYA), attendee(PRIYA), attendee(ALEX, partstat="TENTATIVE"),
        "DESCRIPTION:" + text("Agenda:\n- Statement of work for Q-next\n- Feedback on the agency handover\n\n"
                              "Action: Priya: send the revised statement of work\n"
                              "* [ ] alex@example.com: share the brand guidelines with Priya's team"),
    ])


def jordan_series():
    # Outlook style: Windows zone name, a meeting room among the attendees.
    uid = "040000008200E00074C5B7101A82E00800000000D0F1C3A2B1D4DB010000000000000000100000001C6F0A3E"
    first = datetime(2025, 9, 5, 14, 0)  # a Friday
    # The last two Fridays of every November are cancelled (year-end travel): at the
    # start of December the two have missed two in a row, which tete's cadence note
    # points out (`run --once --now 2026-12-01T13:00`).
    cancelled = []
    for year in range(2025, 2030):
        last = date(year, 11, 30)
        while last.weekday() != 4:
            last -= timedelta(days=1)
        for day in (last - timedelta(weeks=1), last):
            when = datetime(day.year, day.month, day.day, 14, 0)
            cancelled += vevent([
                f"UID:{uid}", "SUMMARY:Jordan & Alex: weekly 1:1", "STATUS:CANCELLED",
                f"RECURRENCE-ID;{local('W. Europe Standard Time', when)}",
                f"DTSTART;{local('W. Europe Standard Time', when)}",
                f"DTEND;{local('W. Europe Standard Time', when + timedelta(minutes=30))}",
                organizer(JORDAN), attendee(JORDAN), attendee(ALEX),
            ])
    return cancelled + vevent([
        f"UID:{uid}", "SUMMARY:Jordan & Alex: weekly 1:1",
        f"DTSTART;{local('W. Europe Standard Time', first)}",
        f"DTEND;{local('W. Europe Standard Time', first + timedelta(minutes=30))}",
        "RRULE:FREQ=WEEKLY;BYDAY=FR",
        organizer(JORDAN), attendee(JORDAN), attendee(ALEX),
        "ATTENDEE;CN=Room Fjord (4);CUTYPE=ROOM;ROLE=NON-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:fjord@rooms.example.com",
        "LOCATION:Room Fjord (4)",
        "DESCRIPTION:" + text("Jordan: prepare the sprint demo\n- [ ] Jordan: finish the accessibility audit\n"
                              "- [ ] Alex: approve Jordan's training budget"),
    ])


def not_one_on_ones():
    standup = datetime(2025, 9, 1, 9, 30)
    lunch = datetime(2025, 9, 3, 12, 30)
    focus = datetime(2025, 9, 1, 8, 0)
    interview = datetime(2025, 9, 2, 16, 0)
    # Coffee with Chris is booked one at a time, about once a quarter, never as a
    # series: `tete series` lists the ones in its window as "not recurring".
    coffees = [datetime(2025, 9, 10, 9, 0) + timedelta(weeks=13 * n) for n in range(18)]
    return (
        vevent([
            "UID:demo-standup@tete.example", "SUMMARY:Team standup",
            f"DTSTART;{local('Europe/Berlin', standup)}",
            f"DTEND;{local('Europe/Berlin', standup + timedelta(minutes=15))}",
            "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            organizer(ALEX), attendee(ALEX), attendee(DANA), attendee(SAM), attendee(JORDAN),
            *[attendee(p) for p in TEAM[:1]],
        ])
        + vevent([
            "UID:demo-lunch@tete.example", "SUMMARY:Lunch with Dana",
            f"DTSTART;{local('Europe/Berlin', lunch)}",
            f"DTEND;{local('Europe/Berlin', lunch + timedelta(hours=1))}",
            "RRULE:FREQ=WEEKLY;INTERVAL=4;BYDAY=WE",
            organizer(DANA), attendee(DANA), attendee(ALEX),
        ])
        + vevent([
            "UID:demo-thinking-time@tete.example", "SUMMARY:Thinking time (room booked)",
            f"DTSTART;{local('Europe/Berlin', focus)}",
            f"DTEND;{local('Europe/Berlin', focus + timedelta(hours=1))}",
            "RRULE:FREQ=WEEKLY;BYDAY=MO",
            organizer(ALEX), attendee(ALEX),
            "ATTENDEE;CN=Room Atlas (2);CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:atlas@rooms.example.com",
        ])
        + vevent([
            "UID:demo-interview@tete.example", "SUMMARY:Interview debrief with Mei",
            f"DTSTART;{local('Europe/Berlin', interview)}",
            f"DTEND;{local('Europe/Berlin', interview + timedelta(minutes=30))}",
            "RRULE:FREQ=WEEKLY;BYDAY=TU",
            organizer(TEAM[1]), attendee(TEAM[1]), attendee(ALEX),
        ])
        + sum((
            vevent([
                f"UID:demo-coffee-{coffee:%Y%m%d}@tete.example", "SUMMARY:Coffee with Chris",
                f"DTSTART;{local('Europe/Berlin', coffee)}",
                f"DTEND;{local('Europe/Berlin', coffee + timedelta(minutes=30))}",
                organizer(TEAM[0]), attendee(TEAM[0]), attendee(ALEX),
            ])
            for coffee in coffees
        ), [])
    )


def main():
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tete//demo calendar//EN",
             "CALSCALE:GREGORIAN", "X-WR-CALNAME:Alex Rivera", "X-WR-TIMEZONE:Europe/Berlin"]
    for tz in (BERLIN_VTIMEZONE, NEW_YORK_VTIMEZONE, OUTLOOK_VTIMEZONE):
        lines += tz.splitlines()
    lines += dana_series() + sam_series() + priya_series() + jordan_series() + not_one_on_ones()
    lines.append("END:VCALENDAR")
    print("\r\n".join(fold(l) for l in lines), end="\r\n")


if __name__ == "__main__":
    main()
