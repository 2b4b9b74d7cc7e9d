//! The four ABC classes.

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum AbcClass {
    A = 1,
    B = 2,
    C = 3,
    /// A negative value: it costs rather than brings.
    D = 4,
}

impl AbcClass {
    pub fn letter(self) -> &'static str {
        match self {
            AbcClass::A => "A",
            AbcClass::B => "B",
            AbcClass::C => "C",
            AbcClass::D => "D",
        }
    }
}
