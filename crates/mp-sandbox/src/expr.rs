//! Mixpanel's segmentation expressions (the `where` and `on` parameters).
//!
//! The grammar and the semantics follow Mixpanel's reference page "Segmentation Expressions":
//! `properties["name"]` (and `user["name"]` for the profile of the event's user), string,
//! number, boolean and list literals, `+ - * / %`, `== != > >= < <=`, `in`, `and`, `or`,
//! `not`, `defined()`, the typecasts `number()`, `string()`, `boolean()` and the math
//! functions `floor()`, `round()`, `ceil()`. Types follow the page: comparing values of
//! different types gives false for `==` and *undefined* for ordering operators, and `and`/`or`
//! treat undefined as false.
//!
//! Not supported (the sandbox answers 400): `datetime()`, `event["$time"]`, property paths
//! into lists or objects, and the rarer functions of the full language.

use std::fmt;

/// A runtime value of the expression language.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// A missing property, or the result of an operation on mismatched types.
    Undefined,
    Bool(bool),
    Num(f64),
    Str(String),
    List(Vec<Value>),
}

impl Value {
    /// Renders the value as a segment key the way Mixpanel labels segments.
    ///
    /// Returns `None` for undefined values, which do not form a segment.
    pub(crate) fn segment_key(&self) -> Option<String> {
        match self {
            Value::Undefined => None,
            Value::Bool(value) => Some(value.to_string()),
            Value::Num(value) => Some(format_number(*value)),
            Value::Str(value) => Some(value.clone()),
            Value::List(_) => None,
        }
    }
}

/// Formats a number like JSON does: integers without a fractional part.
pub(crate) fn format_number(value: f64) -> String {
    if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Where a property is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// `properties["…"]`: the event's properties (or, on `/engage`, the profile's).
    Properties,
    /// `user["…"]`: the profile of the event's user.
    User,
}

/// Supplies property values to the evaluator.
pub(crate) trait Lookup {
    /// Returns the value of a property, or [`Value::Undefined`] when it is not set.
    fn lookup(&self, scope: Scope, name: &str) -> Value;
}

/// A parsed expression.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    Property(Scope, String),
    Literal(Value),
    List(Vec<Expr>),
    Negate(Box<Expr>),
    Not(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    Call(Function, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Remainder,
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
    In,
    And,
    Or,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Function {
    Defined,
    Number,
    String,
    Boolean,
    Floor,
    Round,
    Ceil,
}

/// Why an expression could not be parsed; the text goes into the 400 body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParseError {
    pub(crate) message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl Expr {
    /// Parses an expression.
    pub(crate) fn parse(text: &str) -> Result<Expr, ParseError> {
        let tokens = tokenize(text)?;
        let mut parser = Parser {
            tokens,
            position: 0,
        };
        let expr = parser.parse_or()?;
        match parser.peek() {
            None => Ok(expr),
            Some(token) => Err(parser.error(&format!("unexpected {token}"))),
        }
    }

    /// Evaluates the expression.
    pub(crate) fn eval(&self, lookup: &dyn Lookup) -> Value {
        match self {
            Expr::Property(scope, name) => lookup.lookup(*scope, name),
            Expr::Literal(value) => value.clone(),
            Expr::List(items) => Value::List(items.iter().map(|item| item.eval(lookup)).collect()),
            Expr::Negate(inner) => match inner.eval(lookup) {
                Value::Num(value) => Value::Num(-value),
                _ => Value::Undefined,
            },
            Expr::Not(inner) => match inner.eval(lookup) {
                Value::Bool(value) => Value::Bool(!value),
                Value::Undefined => Value::Bool(true),
                _ => Value::Undefined,
            },
            Expr::Binary(op, left, right) => eval_binary(*op, left, right, lookup),
            Expr::Call(function, argument) => eval_call(*function, argument.eval(lookup)),
        }
    }

    /// Returns true if and only if the expression evaluates to boolean true, which is what a
    /// `where` filter asks.
    pub(crate) fn matches(&self, lookup: &dyn Lookup) -> bool {
        self.eval(lookup) == Value::Bool(true)
    }
}

fn eval_binary(op: BinaryOp, left: &Expr, right: &Expr, lookup: &dyn Lookup) -> Value {
    // `and` and `or` short-circuit; an undefined operand counts as false.
    match op {
        BinaryOp::And => {
            return Value::Bool(truthy(&left.eval(lookup)) && truthy(&right.eval(lookup)));
        }
        BinaryOp::Or => {
            return Value::Bool(truthy(&left.eval(lookup)) || truthy(&right.eval(lookup)));
        }
        _ => {}
    }
    let left = left.eval(lookup);
    let right = right.eval(lookup);
    match op {
        BinaryOp::Equal => Value::Bool(equal(&left, &right)),
        BinaryOp::NotEqual => Value::Bool(!equal(&left, &right)),
        BinaryOp::In => match (&left, &right) {
            (_, Value::List(items)) => Value::Bool(items.iter().any(|item| equal(&left, item))),
            (Value::Str(needle), Value::Str(haystack)) => {
                Value::Bool(haystack.contains(needle.as_str()))
            }
            _ => Value::Undefined,
        },
        BinaryOp::Add => match (left, right) {
            (Value::Num(a), Value::Num(b)) => Value::Num(a + b),
            (Value::Str(a), Value::Str(b)) => Value::Str(a + &b),
            _ => Value::Undefined,
        },
        _ => {
            let (Value::Num(a), Value::Num(b)) = (left, right) else {
                return Value::Undefined;
            };
            match op {
                BinaryOp::Subtract => Value::Num(a - b),
                BinaryOp::Multiply => Value::Num(a * b),
                BinaryOp::Divide if b == 0.0 => Value::Undefined,
                BinaryOp::Divide => Value::Num(a / b),
                BinaryOp::Remainder if b == 0.0 => Value::Undefined,
                // Rust's `%` keeps the dividend's sign, as the reference page requires.
                BinaryOp::Remainder => Value::Num(a % b),
                BinaryOp::Greater => Value::Bool(a > b),
                BinaryOp::GreaterOrEqual => Value::Bool(a >= b),
                BinaryOp::Less => Value::Bool(a < b),
                BinaryOp::LessOrEqual => Value::Bool(a <= b),
                _ => Value::Undefined,
            }
        }
    }
}

fn eval_call(function: Function, argument: Value) -> Value {
    match function {
        Function::Defined => Value::Bool(argument != Value::Undefined),
        Function::String => match argument {
            Value::Num(value) => Value::Str(format_number(value)),
            Value::Bool(value) => Value::Str(value.to_string()),
            other => other,
        },
        Function::Number => match argument {
            Value::Str(text) => text
                .trim()
                .parse::<f64>()
                .map(Value::Num)
                .unwrap_or(Value::Undefined),
            Value::Bool(value) => Value::Num(if value { 1.0 } else { 0.0 }),
            Value::Num(value) => Value::Num(value),
            _ => Value::Undefined,
        },
        Function::Boolean => match argument {
            Value::Bool(value) => Value::Bool(value),
            Value::Num(value) => Value::Bool(value != 0.0),
            Value::Str(text) => Value::Bool(!text.is_empty()),
            Value::List(items) => Value::Bool(!items.is_empty()),
            Value::Undefined => Value::Undefined,
        },
        Function::Floor | Function::Round | Function::Ceil => match argument {
            Value::Num(value) => Value::Num(match function {
                Function::Floor => value.floor(),
                Function::Round => value.round(),
                _ => value.ceil(),
            }),
            _ => Value::Undefined,
        },
    }
}

fn truthy(value: &Value) -> bool {
    matches!(value, Value::Bool(true))
}

fn equal(left: &Value, right: &Value) -> bool {
    match (left, right) {
        (Value::Num(a), Value::Num(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Identifier(String),
    Number(f64),
    String(String),
    Symbol(&'static str),
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Identifier(name) => write!(f, "`{name}`"),
            Token::Number(value) => write!(f, "`{value}`"),
            Token::String(value) => write!(f, "string {value:?}"),
            Token::Symbol(symbol) => write!(f, "`{symbol}`"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, ParseError> {
    const SYMBOLS: [&str; 16] = [
        "==", "!=", ">=", "<=", ">", "<", "(", ")", "[", "]", ",", "+", "-", "*", "/", "%",
    ];
    let mut tokens = Vec::new();
    let mut rest = text;
    'outer: while let Some(first) = rest.chars().next() {
        if first.is_whitespace() {
            rest = &rest[first.len_utf8()..];
            continue;
        }
        if first == '"' || first == '\'' {
            let mut value = String::new();
            let mut chars = rest[1..].char_indices();
            while let Some((index, ch)) = chars.next() {
                match ch {
                    '\\' => match chars.next() {
                        Some((_, 'n')) => value.push('\n'),
                        Some((_, 't')) => value.push('\t'),
                        Some((_, escaped)) => value.push(escaped),
                        None => break,
                    },
                    _ if ch == first => {
                        tokens.push(Token::String(value));
                        rest = &rest[1 + index + 1..];
                        continue 'outer;
                    }
                    _ => value.push(ch),
                }
            }
            return Err(ParseError {
                message: "unterminated string literal".to_owned(),
            });
        }
        if first.is_ascii_digit() || first == '.' {
            let end = rest
                .find(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
                .unwrap_or(rest.len());
            let number = rest[..end].parse::<f64>().map_err(|_| ParseError {
                message: format!("invalid number `{}`", &rest[..end]),
            })?;
            tokens.push(Token::Number(number));
            rest = &rest[end..];
            continue;
        }
        if first.is_alphabetic() || first == '_' || first == '$' {
            let end = rest
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_' || ch == '$'))
                .unwrap_or(rest.len());
            tokens.push(Token::Identifier(rest[..end].to_owned()));
            rest = &rest[end..];
            continue;
        }
        match SYMBOLS.iter().find(|symbol| rest.starts_with(**symbol)) {
            Some(symbol) => {
                tokens.push(Token::Symbol(symbol));
                rest = &rest[symbol.len()..];
            }
            None => {
                return Err(ParseError {
                    message: format!("unexpected character `{first}`"),
                });
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<Token>,
    position: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.position)
    }

    fn error(&self, message: &str) -> ParseError {
        ParseError {
            message: format!("{message} at token {}", self.position + 1),
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        if matches!(self.peek(), Some(Token::Symbol(found)) if *found == symbol) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn eat_keyword(&mut self, keyword: &str) -> bool {
        if matches!(self.peek(), Some(Token::Identifier(found)) if found == keyword) {
            self.position += 1;
            true
        } else {
            false
        }
    }

    fn expect_symbol(&mut self, symbol: &str) -> Result<(), ParseError> {
        if self.eat_symbol(symbol) {
            Ok(())
        } else {
            Err(self.error(&format!("expected `{symbol}`")))
        }
    }

    fn parse_or(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_and()?;
        while self.eat_keyword("or") {
            let right = self.parse_and()?;
            left = Expr::Binary(BinaryOp::Or, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_and(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_not()?;
        while self.eat_keyword("and") {
            let right = self.parse_not()?;
            left = Expr::Binary(BinaryOp::And, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn parse_not(&mut self) -> Result<Expr, ParseError> {
        if self.eat_keyword("not") {
            return Ok(Expr::Not(Box::new(self.parse_not()?)));
        }
        self.parse_comparison()
    }

    fn parse_comparison(&mut self) -> Result<Expr, ParseError> {
        let left = self.parse_additive()?;
        let op = match self.peek() {
            Some(Token::Symbol("==")) => BinaryOp::Equal,
            Some(Token::Symbol("!=")) => BinaryOp::NotEqual,
            Some(Token::Symbol(">")) => BinaryOp::Greater,
            Some(Token::Symbol(">=")) => BinaryOp::GreaterOrEqual,
            Some(Token::Symbol("<")) => BinaryOp::Less,
            Some(Token::Symbol("<=")) => BinaryOp::LessOrEqual,
            Some(Token::Identifier(word)) if word == "in" => BinaryOp::In,
            _ => return Ok(left),
        };
        self.position += 1;
        let right = self.parse_additive()?;
        Ok(Expr::Binary(op, Box::new(left), Box::new(right)))
    }

    fn parse_additive(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_multiplicative()?;
        loop {
            let op = if self.eat_symbol("+") {
                BinaryOp::Add
            } else if self.eat_symbol("-") {
                BinaryOp::Subtract
            } else {
                return Ok(left);
            };
            let right = self.parse_multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_multiplicative(&mut self) -> Result<Expr, ParseError> {
        let mut left = self.parse_unary()?;
        loop {
            let op = if self.eat_symbol("*") {
                BinaryOp::Multiply
            } else if self.eat_symbol("/") {
                BinaryOp::Divide
            } else if self.eat_symbol("%") {
                BinaryOp::Remainder
            } else {
                return Ok(left);
            };
            let right = self.parse_unary()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
    }

    fn parse_unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat_symbol("-") {
            return Ok(Expr::Negate(Box::new(self.parse_unary()?)));
        }
        self.parse_primary()
    }

    fn parse_primary(&mut self) -> Result<Expr, ParseError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.error("unexpected end of expression"));
        };
        self.position += 1;
        match token {
            Token::Number(value) => Ok(Expr::Literal(Value::Num(value))),
            Token::String(value) => Ok(Expr::Literal(Value::Str(value))),
            Token::Symbol("(") => {
                let inner = self.parse_or()?;
                self.expect_symbol(")")?;
                Ok(inner)
            }
            Token::Symbol("[") => {
                let mut items = Vec::new();
                if !self.eat_symbol("]") {
                    loop {
                        items.push(self.parse_or()?);
                        if self.eat_symbol("]") {
                            break;
                        }
                        self.expect_symbol(",")?;
                    }
                }
                Ok(Expr::List(items))
            }
            Token::Identifier(name) => self.parse_identifier(&name),
            Token::Symbol(symbol) => Err(self.error(&format!("unexpected `{symbol}`"))),
        }
    }

    fn parse_identifier(&mut self, name: &str) -> Result<Expr, ParseError> {
        match name {
            "true" => return Ok(Expr::Literal(Value::Bool(true))),
            "false" => return Ok(Expr::Literal(Value::Bool(false))),
            "properties" | "user" => {
                self.expect_symbol("[")?;
                let Some(Token::String(property)) = self.peek().cloned() else {
                    return Err(self.error("expected a quoted property name"));
                };
                self.position += 1;
                self.expect_symbol("]")?;
                let scope = if name == "user" {
                    Scope::User
                } else {
                    Scope::Properties
                };
                return Ok(Expr::Property(scope, property));
            }
            _ => {}
        }
        let function = match name {
            "defined" => Function::Defined,
            "number" => Function::Number,
            "string" => Function::String,
            "boolean" => Function::Boolean,
            "floor" => Function::Floor,
            "round" => Function::Round,
            "ceil" => Function::Ceil,
            _ => {
                return Err(self.error(&format!(
                    "`{name}` is not supported by the sandbox's expression language"
                )));
            }
        };
        self.expect_symbol("(")?;
        let argument = self.parse_or()?;
        self.expect_symbol(")")?;
        Ok(Expr::Call(function, Box::new(argument)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Props;

    impl Lookup for Props {
        fn lookup(&self, scope: Scope, name: &str) -> Value {
            match (scope, name) {
                (Scope::Properties, "country") => Value::Str("US".to_owned()),
                (Scope::Properties, "amount") => Value::Num(19.99),
                (Scope::User, "plan") => Value::Str("pro".to_owned()),
                _ => Value::Undefined,
            }
        }
    }

    #[track_caller]
    fn check(text: &str, expected: Value) {
        let expr = Expr::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert_eq!(expr.eval(&Props), expected, "{text}");
    }

    #[test]
    fn evaluates_the_reference_page_semantics() {
        check(r#"properties["country"] == "US""#, Value::Bool(true));
        check(r#"properties["country"] == 1"#, Value::Bool(false));
        check(
            r#"properties["amount"] > 10 and user["plan"] == "pro""#,
            Value::Bool(true),
        );
        check(r#"properties["missing"] > 10"#, Value::Undefined);
        check(r#"not defined(properties["missing"])"#, Value::Bool(true));
        check(
            r#"properties["country"] in ["GB", "US"]"#,
            Value::Bool(true),
        );
        check(r#""S" in properties["country"]"#, Value::Bool(true));
        check(r#"floor(properties["amount"])"#, Value::Num(19.0));
        check(
            r#"string(floor(properties["amount"]) * 2)"#,
            Value::Str("38".to_owned()),
        );
        check(r#"number("12") + 1"#, Value::Num(13.0));
        check("-7 % 3", Value::Num(-1.0));
        check("1 / 0", Value::Undefined);
        check(r#"properties["missing"] or (1 < 2)"#, Value::Bool(true));
    }

    #[test]
    fn rejects_malformed_expressions() {
        for text in [
            "",
            r#"properties["a""#,
            r#"properties[a]"#,
            "1 +",
            r#"datetime("2024-01-01")"#,
            r#""unterminated"#,
            "1 2",
        ] {
            assert!(Expr::parse(text).is_err(), "{text}");
        }
    }
}
