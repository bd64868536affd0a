//! What a cart accepts: line quantities, and which products may be added to it (each line
//! checked against the cart as the earlier lines of the same request left it).

use super::MAX_LINE_QUANTITY;
use crate::catalog::CustomAttributes;
use std::collections::HashMap;

/// A cart line with the product facts pricing, the rules and rendering need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CartLine {
    pub id: i64,
    pub product_id: i64,
    pub quantity: i64,
    pub sku: String,
    pub name: String,
    pub display_name: String,
    pub short_description: String,
    pub long_description: String,
    pub keywords: String,
    pub product_type: String,
    /// A variation's base product.
    pub base_product_id: Option<i64>,
    pub thumbnail_image: Option<String>,
    pub product_image: Option<String>,
    /// The site the product belongs to.
    pub site_id: String,
    pub currency: String,
    pub list_price_minor: i64,
    pub sale_price_minor: i64,
    /// `None`: the product's stock is not tracked.
    pub available_quantity: Option<i64>,
    pub manufacturer_name: Option<String>,
    /// The product's custom attributes (the catalog's).
    pub custom_attributes: CustomAttributes,
    /// The line's own, as the storefront set them.
    pub line_attributes: CustomAttributes,
    /// The product's subscription plan: the line buys a subscription.
    pub subscription: Option<crate::subscriptions::Plan>,
    /// What the storefront said of that subscription (`subscriptionInfo`).
    pub subscription_info: Option<crate::subscriptions::SubscriptionInfo>,
}

impl CartLine {
    /// Whether the line ships (and so needs a shipping address and option).
    pub fn physical(&self) -> bool {
        self.product_type == "PHYSICAL"
    }

    /// Whether setting the line to `quantity` stays within the product's stock.
    pub fn check_quantity(&self, quantity: i64) -> Result<(), LineRefusal> {
        match self.available_quantity {
            Some(available) if quantity > available => Err(LineRefusal::OutOfStock {
                product_id: self.product_id,
                available: available.max(0),
            }),
            _ => Ok(()),
        }
    }
}

/// A product as adding it to a cart sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductForCart {
    pub currency: String,
    pub available_quantity: Option<i64>,
    /// A base product with variations is not itself purchasable.
    pub has_variations: bool,
}

/// Why a line cannot be added or changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineRefusal {
    NoSuchProduct(i64),
    HasVariations(i64),
    CurrencyMismatch {
        product_id: i64,
        product_currency: String,
        cart_currency: String,
    },
    /// A requested quantity outside `1..=MAX_LINE_QUANTITY`.
    QuantityOutOfRange,
    /// The line would hold more than `MAX_LINE_QUANTITY`.
    LineTooLarge,
    OutOfStock {
        product_id: i64,
        available: i64,
    },
}

/// A requested quantity, if within `1..=MAX_LINE_QUANTITY`.
pub fn check_quantity(quantity: i64) -> Result<i64, LineRefusal> {
    if (1..=MAX_LINE_QUANTITY).contains(&quantity) {
        Ok(quantity)
    } else {
        Err(LineRefusal::QuantityOutOfRange)
    }
}

/// The lines one request adds, checked in order against the cart as it grows: a request that
/// adds one product twice is checked on the sum.
#[derive(Debug, Clone, Default)]
pub struct LineAdditions {
    currency: Option<String>,
    in_cart: HashMap<i64, i64>,
    accepted: Vec<(i64, i64)>,
}

impl LineAdditions {
    pub fn new(existing: &[CartLine]) -> Self {
        Self {
            currency: existing.first().map(|l| l.currency.clone()),
            in_cart: existing
                .iter()
                .map(|l| (l.product_id, l.quantity))
                .collect(),
            accepted: Vec::new(),
        }
    }

    /// Adds `quantity` of `product_id` (`product`: `None` when the site has no such product),
    /// or says why not.
    pub fn add(
        &mut self,
        product_id: i64,
        quantity: i64,
        product: Option<&ProductForCart>,
    ) -> Result<(), LineRefusal> {
        let product = product.ok_or(LineRefusal::NoSuchProduct(product_id))?;
        if product.has_variations {
            return Err(LineRefusal::HasVariations(product_id));
        }
        match &self.currency {
            Some(c) if *c != product.currency => {
                return Err(LineRefusal::CurrencyMismatch {
                    product_id,
                    product_currency: product.currency.clone(),
                    cart_currency: c.clone(),
                });
            }
            _ => self.currency = Some(product.currency.clone()),
        }
        let total = self.in_cart.get(&product_id).copied().unwrap_or(0) + quantity;
        if total > MAX_LINE_QUANTITY {
            return Err(LineRefusal::LineTooLarge);
        }
        if let Some(available) = product.available_quantity
            && total > available
        {
            return Err(LineRefusal::OutOfStock {
                product_id,
                available: available.max(0),
            });
        }
        self.in_cart.insert(product_id, total);
        self.accepted.push((product_id, quantity));
        Ok(())
    }

    /// The `(product id, quantity)` pairs to write.
    pub fn into_accepted(self) -> Vec<(i64, i64)> {
        self.accepted
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product(currency: &str, stock: Option<i64>) -> ProductForCart {
        ProductForCart {
            currency: currency.into(),
            available_quantity: stock,
            has_variations: false,
        }
    }

    fn line(product_id: i64, quantity: i64, currency: &str) -> CartLine {
        CartLine {
            product_id,
            quantity,
            currency: currency.into(),
            ..CartLine::default()
        }
    }

    #[test]
    fn quantities_are_between_one_and_the_maximum() {
        assert_eq!(check_quantity(1), Ok(1));
        assert_eq!(check_quantity(MAX_LINE_QUANTITY), Ok(MAX_LINE_QUANTITY));
        assert_eq!(check_quantity(0), Err(LineRefusal::QuantityOutOfRange));
        assert_eq!(
            check_quantity(MAX_LINE_QUANTITY + 1),
            Err(LineRefusal::QuantityOutOfRange)
        );
    }

    #[test]
    fn a_missing_product_or_one_with_variations_is_refused() {
        let mut adds = LineAdditions::new(&[]);
        assert_eq!(adds.add(7, 1, None), Err(LineRefusal::NoSuchProduct(7)));
        let base = ProductForCart {
            has_variations: true,
            ..product("USD", None)
        };
        assert_eq!(
            adds.add(8, 1, Some(&base)),
            Err(LineRefusal::HasVariations(8))
        );
        assert!(adds.into_accepted().is_empty());
    }

    #[test]
    fn one_cart_one_currency_counting_earlier_lines_of_the_request() {
        let mut adds = LineAdditions::new(&[]);
        adds.add(1, 2, Some(&product("EUR", None))).unwrap();
        assert_eq!(
            adds.add(2, 1, Some(&product("USD", None))),
            Err(LineRefusal::CurrencyMismatch {
                product_id: 2,
                product_currency: "USD".into(),
                cart_currency: "EUR".into(),
            })
        );
        let mut adds = LineAdditions::new(&[line(1, 1, "USD")]);
        assert!(matches!(
            adds.add(2, 1, Some(&product("EUR", None))),
            Err(LineRefusal::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn stock_and_the_line_maximum_apply_to_the_merged_line() {
        let mut adds = LineAdditions::new(&[line(1, 3, "USD")]);
        let stocked = product("USD", Some(5));
        adds.add(1, 2, Some(&stocked)).unwrap();
        assert_eq!(
            adds.add(1, 1, Some(&stocked)),
            Err(LineRefusal::OutOfStock {
                product_id: 1,
                available: 5
            })
        );
        let mut adds = LineAdditions::new(&[line(2, MAX_LINE_QUANTITY, "USD")]);
        assert_eq!(
            adds.add(2, 1, Some(&product("USD", None))),
            Err(LineRefusal::LineTooLarge)
        );
        let mut adds = LineAdditions::new(&[]);
        adds.add(1, 2, Some(&stocked)).unwrap();
        adds.add(3, 1, Some(&product("USD", None))).unwrap();
        assert_eq!(adds.into_accepted(), vec![(1, 2), (3, 1)]);
    }

    #[test]
    fn a_line_quantity_is_checked_against_stock_never_below_zero() {
        let mut l = line(4, 1, "USD");
        assert_eq!(l.check_quantity(9), Ok(()));
        l.available_quantity = Some(-2);
        assert_eq!(
            l.check_quantity(1),
            Err(LineRefusal::OutOfStock {
                product_id: 4,
                available: 0
            })
        );
    }
}
