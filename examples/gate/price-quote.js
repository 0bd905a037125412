// A gate scenario: one call prices a quote the way a request handler would. heaphound gate
// runs it thousands of times and fails if memory that stays behind keeps growing.
//   heaphound gate -- node examples/gate/price-quote.js
'use strict';

const TAX = { EUR: 0.2, USD: 0.07 };
const rates = new Map(); // bounded: one entry per currency

function rate(currency) {
  if (!rates.has(currency)) rates.set(currency, { currency, tax: TAX[currency] ?? 0 });
  return rates.get(currency);
}

module.exports = async function priceQuote(i) {
  const lines = Array.from({ length: 20 }, (_, k) => ({ sku: `SKU-${i}-${k}`, qty: 1 + (k % 3), price: 9.5 }));
  const { tax } = rate(i % 2 ? 'EUR' : 'USD');
  const net = lines.reduce((sum, l) => sum + l.qty * l.price, 0);
  await new Promise((resolve) => setImmediate(resolve)); // stands in for I/O
  return { net, gross: net * (1 + tax), lines: lines.length };
};
