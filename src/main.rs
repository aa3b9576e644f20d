fn main() {
    for f in std::env::args().skip(1) {
        let t = std::fs::read_to_string(&f).unwrap();
        match firedrill::drill::parse_str(&t) {
            Ok(d) => println!("{:#?}", d.actions),
            Err(e) => println!("{e}"),
        }
    }
}
