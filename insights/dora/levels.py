"""Performance levels (elite, high, medium, low) of the summary's figures.

From the software delivery performance levels table of the 2024 Accelerate State of DevOps report
(DORA, Google Cloud), whose four clusters are:

    level   deployment frequency            change lead time       change fail rate  recovery time
    elite   on demand (several a day)       less than one day      5%                less than one hour
    high    daily to weekly                 one day to one week    20%               less than one day
    medium  weekly to monthly               one week to one month  10%               less than one day
    low     monthly to every six months     one to six months      40%               one week to one month

The clusters are found on all four metrics together, so one metric's bands overlap or leave gaps. Ranking a
single figure needs monotone bounds; we take (a figure on a bound gets the better level):
- deployment frequency (per day): elite >= 1, high >= 1/7, medium >= 1/30, else low;
- lead time: elite < 1 day, high <= 7 days, medium <= 30 days, else low;
- change failure rate: elite <= 5%, high <= 20%, medium < 40%, else low (the report's medium cluster,
  10%, fails less often than its high one, 20%: for the rate alone we put medium between high and low);
- time to restore: elite < 1 hour, high < 1 day, medium < 1 week, else low (high and medium share
  "less than one day" in the report; the gap up to low's "one week" is medium);
- rework rate: no level (the report gives no cluster for it).
"""

HOUR, DAY = 3600, 86400


def level(metric: str, value: float | None) -> str | None:
    if value is None:
        return None
    if metric == "deployment_frequency":
        return "elite" if value >= 1 else "high" if value >= 1 / 7 else "medium" if value >= 1 / 30 else "low"
    if metric == "lead_time_for_changes":
        return "elite" if value < DAY else "high" if value <= 7 * DAY else "medium" if value <= 30 * DAY else "low"
    if metric == "change_failure_rate":
        return "elite" if value <= 0.05 else "high" if value <= 0.20 else "medium" if value < 0.40 else "low"
    if metric == "time_to_restore_service":
        return "elite" if value < HOUR else "high" if value < DAY else "medium" if value < 7 * DAY else "low"
    return None
