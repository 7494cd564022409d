//! Online appointments (Terminvergabe): the rules without I/O. Booking rules per
//! authority and calendars per location (settings), public holidays of Lower Saxony,
//! free times (slots), the life cycle of a booking (status), the calendar file sent
//! with every e-mail (ics) and the reference code citizens quote on the phone.
//!
//! Times are civil times in Europe/Berlin; `time` converts them to the milliseconds
//! the store keeps. Nothing here reads a clock: `now` is always a parameter.

pub mod holidays;
pub mod ics;
pub mod reference;
pub mod settings;
pub mod slots;
pub mod status;
pub mod time;
pub mod triage;

pub use holidays::is_public_holiday_ni;
pub use ics::{IcsAttendee, IcsEvent, IcsOrganizer, ics};
pub use reference::reference_code;
pub use settings::{
    BlockedPeriod, BookingLimit, BookingRules, Calendar, CalendarService, TriageAnswer, TriageEffect, TriageQuestion,
};
pub use slots::{
    FreeTime, Wish, closed_reason, day_times, day_units, duration, end_of, hours_on, is_bookable_start, unit_starts,
    unit_starts_ms, window,
};
pub use status::AppointmentStatus;
pub use triage::TriageOutcome;
