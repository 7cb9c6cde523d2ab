// The one way the inbox and the console build elements: text always goes through
// textContent (props), never markup, so whatever a customer or agent typed stays text.
export function el(tag, props = {}, ...children) {
  const { testid, dataset, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  if (testid) node.dataset.testid = testid;
  if (dataset) Object.assign(node.dataset, dataset);
  for (const c of children) if (c !== null && c !== undefined && c !== false) node.append(c);
  return node;
}
