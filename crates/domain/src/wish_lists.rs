//! Wish lists (seed 003's `shoppers/me/wish-lists` rows; the docs say nothing more, so the
//! design is Shopkeeper's, README "Wish lists"): a signed-in shopper's named lists of products
//! they want, one of which is their default. Pure rules: the names, the quantities, the limits,
//! which list is the default, and what a request does to a list's products.
//!
//! Wish lists are the shopper's own notes, not something a merchant acts on: no event.

use crate::checkout::MAX_LINE_QUANTITY;
use std::collections::BTreeMap;
use std::fmt;

/// The most wish lists a shopper keeps.
pub const MAX_WISH_LISTS: usize = 20;
/// The most products one wish list holds.
pub const MAX_WISH_LIST_PRODUCTS: usize = 100;
/// The longest name, in characters.
pub const MAX_NAME_CHARS: usize = 100;
/// The name of the default list `GET wish-lists/default` makes for a shopper who has none.
pub const DEFAULT_NAME: &str = "Wish list";

/// Why a wish-list request is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WishListRefusal {
    /// An empty (or blank) name.
    NameMissing,
    NameTooLong,
    /// A name with a control character (a line break, a NUL).
    NameControl,
    /// A product quantity outside `0..=MAX_LINE_QUANTITY`.
    QuantityOutOfRange(i64),
    /// The shopper has [`MAX_WISH_LISTS`] lists already.
    TooManyLists,
    /// The list would hold more than [`MAX_WISH_LIST_PRODUCTS`] products.
    TooManyProducts,
}

impl fmt::Display for WishListRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NameMissing => f.write_str("wishList.name is required"),
            Self::NameTooLong => write!(
                f,
                "wishList.name must be at most {MAX_NAME_CHARS} characters"
            ),
            Self::NameControl => f.write_str("wishList.name must not hold control characters"),
            Self::QuantityOutOfRange(q) => write!(
                f,
                "quantity {q} is out of range: 0 (removes the product) to {MAX_LINE_QUANTITY}"
            ),
            Self::TooManyLists => write!(
                f,
                "a shopper keeps at most {MAX_WISH_LISTS} wish lists: delete one first"
            ),
            Self::TooManyProducts => write!(
                f,
                "a wish list holds at most {MAX_WISH_LIST_PRODUCTS} products"
            ),
        }
    }
}

/// A list's name, trimmed: 1 to [`MAX_NAME_CHARS`] characters, none a control character.
pub fn check_name(raw: &str) -> Result<String, WishListRefusal> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(WishListRefusal::NameMissing);
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(WishListRefusal::NameTooLong);
    }
    if name.chars().any(char::is_control) {
        return Err(WishListRefusal::NameControl);
    }
    Ok(name.to_owned())
}

/// A wanted quantity: `0` (removes the product) to the largest a cart line may hold.
pub fn check_quantity(quantity: i64) -> Result<i64, WishListRefusal> {
    if (0..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(WishListRefusal::QuantityOutOfRange(quantity))
    }
}

/// What a request asks for one product: `quantity` sets how many (`0` removes it); without
/// one, a product not on the list is added once and one on it is left as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductChange {
    pub product_id: i64,
    pub quantity: Option<i64>,
}

/// A checked create or update: the name and default flag when given, and the product changes
/// in the order given (a product named twice: the last one counts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WishListInput {
    pub name: Option<String>,
    /// `true` makes the list the shopper's default. `false` changes nothing: a shopper always
    /// has a default while they have a list (another list is made the default instead).
    pub make_default: bool,
    pub products: Vec<ProductChange>,
}

/// One write to a list's products.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProductWrite {
    /// Add the product (not on the list yet) with this quantity.
    Add {
        product_id: i64,
        quantity: i64,
    },
    /// Set the quantity of a product already on the list.
    Set {
        product_id: i64,
        quantity: i64,
    },
    Remove {
        product_id: i64,
    },
}

/// The writes `changes` make to a list holding `current` (`(product_id, quantity)`), or the
/// refusal when the list would pass [`MAX_WISH_LIST_PRODUCTS`]. Quantities were checked with
/// [`check_quantity`]. Writes that change nothing are left out.
pub fn plan_writes(
    current: &[(i64, i64)],
    changes: &[ProductChange],
) -> Result<Vec<ProductWrite>, WishListRefusal> {
    let before: BTreeMap<i64, i64> = current.iter().copied().collect();
    // The last change of each product, in the order of first mention.
    let mut wanted: Vec<(i64, Option<i64>)> = Vec::new();
    for c in changes {
        match wanted.iter_mut().find(|(id, _)| *id == c.product_id) {
            Some(entry) => entry.1 = c.quantity,
            None => wanted.push((c.product_id, c.quantity)),
        }
    }
    let mut after = before.clone();
    let mut writes = Vec::new();
    for (product_id, quantity) in wanted {
        match (before.get(&product_id), quantity) {
            (None, Some(0)) | (Some(_), None) => {}
            (None, q) => {
                let quantity = q.unwrap_or(1);
                after.insert(product_id, quantity);
                writes.push(ProductWrite::Add {
                    product_id,
                    quantity,
                });
            }
            (Some(_), Some(0)) => {
                after.remove(&product_id);
                writes.push(ProductWrite::Remove { product_id });
            }
            (Some(&had), Some(quantity)) => {
                if had != quantity {
                    after.insert(product_id, quantity);
                    writes.push(ProductWrite::Set {
                        product_id,
                        quantity,
                    });
                }
            }
        }
    }
    if after.len() > MAX_WISH_LIST_PRODUCTS && after.len() > before.len() {
        return Err(WishListRefusal::TooManyProducts);
    }
    Ok(writes)
}

/// Whether a shopper with `lists` wish lists may make another.
pub fn may_create(lists: usize) -> Result<(), WishListRefusal> {
    if lists < MAX_WISH_LISTS {
        Ok(())
    } else {
        Err(WishListRefusal::TooManyLists)
    }
}

/// The shopper's default list among `lists` (`(id, flagged)`): the one flagged as default,
/// else the oldest (the lowest id), as with payment options; `None` without lists.
pub fn default_list(lists: &[(i64, bool)]) -> Option<i64> {
    lists
        .iter()
        .find(|(_, flagged)| *flagged)
        .or_else(|| lists.iter().min_by_key(|(id, _)| *id))
        .map(|(id, _)| *id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(product_id: i64, quantity: Option<i64>) -> ProductChange {
        ProductChange {
            product_id,
            quantity,
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Birthday ").unwrap(), "Birthday");
        assert_eq!(check_name(" \t"), Err(WishListRefusal::NameMissing));
        assert_eq!(check_name("a\nb"), Err(WishListRefusal::NameControl));
        let long = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(check_name(&long).unwrap(), long);
        assert_eq!(
            check_name(&format!("{long}x")),
            Err(WishListRefusal::NameTooLong)
        );
    }

    #[test]
    fn quantities_run_from_zero_to_a_lines_largest() {
        assert_eq!(check_quantity(0), Ok(0));
        assert_eq!(check_quantity(MAX_LINE_QUANTITY), Ok(MAX_LINE_QUANTITY));
        assert_eq!(
            check_quantity(-1),
            Err(WishListRefusal::QuantityOutOfRange(-1))
        );
        assert!(check_quantity(MAX_LINE_QUANTITY + 1).is_err());
    }

    #[test]
    fn changes_add_set_and_remove() {
        let current = [(1, 2), (2, 1)];
        let writes = plan_writes(
            &current,
            &[
                change(1, Some(5)),
                change(2, Some(0)),
                change(3, None),
                change(4, Some(3)),
                // Already there, no quantity: unchanged; absent and 0: nothing to remove.
                change(1, None),
                change(9, Some(0)),
            ],
        )
        .unwrap();
        assert_eq!(
            writes,
            vec![
                ProductWrite::Remove { product_id: 2 },
                ProductWrite::Add {
                    product_id: 3,
                    quantity: 1
                },
                ProductWrite::Add {
                    product_id: 4,
                    quantity: 3
                },
            ],
            "product 1's last change (no quantity) leaves it as it was"
        );
        // The same quantity again writes nothing.
        assert!(
            plan_writes(&current, &[change(1, Some(2))])
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            plan_writes(&current, &[change(1, Some(7))]).unwrap(),
            vec![ProductWrite::Set {
                product_id: 1,
                quantity: 7
            }]
        );
    }

    #[test]
    fn a_list_holds_at_most_its_limit_of_products() {
        let full: Vec<(i64, i64)> = (1..=MAX_WISH_LIST_PRODUCTS as i64)
            .map(|id| (id, 1))
            .collect();
        assert_eq!(
            plan_writes(&full, &[change(1000, None)]),
            Err(WishListRefusal::TooManyProducts)
        );
        // Swapping one product for another, or changing quantities, stays within it.
        let swap = plan_writes(&full, &[change(1, Some(0)), change(1000, None)]).unwrap();
        assert_eq!(swap.len(), 2);
        assert!(plan_writes(&full, &[change(5, Some(9))]).is_ok());
    }

    #[test]
    fn lists_per_shopper_are_bounded() {
        assert!(may_create(0).is_ok());
        assert!(may_create(MAX_WISH_LISTS - 1).is_ok());
        assert_eq!(
            may_create(MAX_WISH_LISTS),
            Err(WishListRefusal::TooManyLists)
        );
    }

    #[test]
    fn the_default_is_the_flagged_list_else_the_oldest() {
        assert_eq!(default_list(&[]), None);
        assert_eq!(default_list(&[(4, false), (2, false)]), Some(2));
        assert_eq!(default_list(&[(2, false), (4, true)]), Some(4));
    }
}
