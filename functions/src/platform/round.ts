/** `value` rounded to `places` decimals, for numbers in answers and reports. */
export const round = (value: number, places: number): number => {
  const factor = 10 ** places;
  return Math.round(value * factor) / factor;
};
