/*
 * kcbx_native: C versions of the normalizers' fast-path tests (sql/functions/normalize.sql) and of the final
 * step of finding repeated keys (sql/functions/repeated_keys.sql).
 *
 * Each function here has the same result as the SQL definition of the same name (in normalize.sql; repeated_in in
 * repeated_keys.sql), on every input for which that definition does not raise (hanzi_in_set is
 * kcbx.is_simplified_hanzi's test, given the set it tests against); pipelines/native/__init__.py installs them over
 * the SQL definitions where the database server can load this library, and tests/test_native.py checks that they
 * give the same results either way. The tests of text shape and calendar run once per value of every loaded row,
 * and in C they cost a few nanoseconds instead of the microsecond of PostgreSQL's regular expressions and casts.
 *
 * repeated_in is the final step of kcbx.repeated_hashes, which finds the keys that repeat among ten million rows:
 * it picks the 64-bit hashes that repeat among ten million in a fifth of a second (repeated_values), against several
 * seconds for the SQL definition's grouping of ten million rows.
 *
 * The functions only read their arguments and never raise (beyond running out of memory), but age_on, which raises
 * where the SQL definition does.
 */
#include "postgres.h"

#include <wctype.h>

#include "catalog/pg_type_d.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/datetime.h"
#if PG_VERSION_NUM >= 160000
#include "varatt.h"
#endif

PG_MODULE_MAGIC;

/* Days of each month in a leap year: a month-day is checked against it, and 29 February against the year. */
static const int month_days[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

static bool
calendar_day(int y, int m, int d)
{
	if (y < 1900 || y > 2100 || m < 1 || m > 12 || d < 1 || d > month_days[m])
		return false;
	return !(m == 2 && d == 29) || (y % 4 == 0 && (y % 100 != 0 || y % 400 == 0));
}

static bool
digits(const char *s, int n)
{
	for (int i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

static int
number(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

/* The date of the year, month and day written in 4, 2 and 2 digits (checked by the caller), if it is a day of
 * 1900–2100. */
static bool
date_of(const char *y4, const char *m2, const char *d2, DateADT *date)
{
	int			y = number(y4, 4),
				m = number(m2, 2),
				d = number(d2, 2);

	if (!calendar_day(y, m, d))
		return false;
	*date = date2j(y, m, d) - POSTGRES_EPOCH_JDATE;
	return true;
}

/* kcbx.id_is_canonical(s): octet_length(s) = 18 and s ~ '^[0-9]+X?$' */
static bool
id_canonical(const char *s, int n)
{
	return n == 18 && digits(s, 17) && ((s[17] >= '0' && s[17] <= '9') || s[17] == 'X');
}

PG_FUNCTION_INFO_V1(kcbx_id_is_canonical);
Datum
kcbx_id_is_canonical(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);

	PG_RETURN_BOOL(id_canonical(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t)));
}

/*
 * kcbx.canonical_id_valid(id): a real birth date (1900–2100) and the right GB 11643 check character. On a value
 * that is not canonical (where the SQL definition would raise) it is false.
 */
PG_FUNCTION_INFO_V1(kcbx_canonical_id_valid);
Datum
kcbx_canonical_id_valid(PG_FUNCTION_ARGS)
{
	static const int weight[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			sum = 0;

	if (!id_canonical(s, VARSIZE_ANY_EXHDR(t)))
		PG_RETURN_BOOL(false);
	if (!calendar_day(number(s + 6, 4), number(s + 10, 2), number(s + 12, 2)))
		PG_RETURN_BOOL(false);
	for (int i = 0; i < 17; i++)
		sum += weight[i] * (s[i] - '0');
	PG_RETURN_BOOL("10X98765432"[sum % 11] == s[17]);
}

/* kcbx.id_birth_date(id): the birth date of a canonical ID number, NULL if it names no day of 1900–2100. */
PG_FUNCTION_INFO_V1(kcbx_id_birth_date);
Datum
kcbx_id_birth_date(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	DateADT		date;

	if (!id_canonical(s, VARSIZE_ANY_EXHDR(t)) || !date_of(s + 6, s + 10, s + 12, &date))
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(date);
}

/* kcbx.iso_date(s): a YYYY-MM-DD text → its date, NULL unless it names a day of 1900–2100. */
PG_FUNCTION_INFO_V1(kcbx_iso_date);
Datum
kcbx_iso_date(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	DateADT		date;

	if (VARSIZE_ANY_EXHDR(t) != 10 || s[4] != '-' || s[7] != '-'
		|| !digits(s, 4) || !digits(s + 5, 2) || !digits(s + 8, 2) || !date_of(s, s + 5, s + 8, &date))
		PG_RETURN_NULL();
	PG_RETURN_DATEADT(date);
}

/*
 * kcbx.age_on(birth, on_date): full years from birth to on_date, as extract(year from age(on_date, birth)) counts them:
 * the difference of the years, less one when on_date's month and day come before birth's; negative when on_date comes
 * first (age() then counts from on_date to birth, and negates). Like age(), it raises on an infinite date.
 */
PG_FUNCTION_INFO_V1(kcbx_age_on);
Datum
kcbx_age_on(PG_FUNCTION_ARGS)
{
	DateADT		from = PG_GETARG_DATEADT(0);
	DateADT		to = PG_GETARG_DATEADT(1);
	int			sign = 1,
				y1, m1, d1, y2, m2, d2;

	if (DATE_NOT_FINITE(from) || DATE_NOT_FINITE(to))
		ereport(ERROR, (errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE), errmsg("timestamp out of range")));
	if (to < from)
	{
		DateADT		first = to;

		to = from;
		from = first;
		sign = -1;
	}
	j2date(from + POSTGRES_EPOCH_JDATE, &y1, &m1, &d1);
	j2date(to + POSTGRES_EPOCH_JDATE, &y2, &m2, &d2);
	PG_RETURN_INT32(sign * (y2 - y1 - (m2 < m1 || (m2 == m1 && d2 < d1))));
}

/* kcbx.is_digits(s): s ~ '^[0-9]+$' */
PG_FUNCTION_INFO_V1(kcbx_is_digits);
Datum
kcbx_is_digits(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	int			n = VARSIZE_ANY_EXHDR(t);

	PG_RETURN_BOOL(n > 0 && digits(VARDATA_ANY(t), n));
}

/* kcbx.is_upper_alnum(s): s ~ '^[0-9A-Z]+$' */
PG_FUNCTION_INFO_V1(kcbx_is_upper_alnum);
Datum
kcbx_is_upper_alnum(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const char *s = VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);

	for (int i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'Z')))
			PG_RETURN_BOOL(false);
	PG_RETURN_BOOL(n > 0);
}

/*
 * The code point of the UTF-8 character at s (n bytes left), or -1 if the bytes are not one; *len is set to its
 * length. The database encoding is UTF-8 (the callers check).
 */
static int
utf8_char(const unsigned char *s, int n, int *len)
{
	*len = pg_utf_mblen(s);
	if (*len > n || !pg_utf8_islegal(s, *len))
		return -1;
	return (int) utf8_to_unicode(s);
}

/*
 * kcbx.has_no_space(s): s ~ '^\S+$'. White space is what PostgreSQL's regular expressions call white space in a
 * UTF-8 database of a libc locale: iswspace() of the database's LC_CTYPE, which the server sets for the session.
 */
PG_FUNCTION_INFO_V1(kcbx_has_no_space);
Datum
kcbx_has_no_space(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(t);
	int			n = VARSIZE_ANY_EXHDR(t);
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;

	if (n == 0)
		PG_RETURN_BOOL(false);
	for (int i = 0, len; i < n; i += len)
	{
		int			c;

		if (s[i] < 0x80)
		{
			len = 1;
			if (s[i] == ' ' || (s[i] >= '\t' && s[i] <= '\r'))
				PG_RETURN_BOOL(false);
			continue;
		}
		if (!utf8 || (c = utf8_char(s + i, n - i, &len)) < 0)
			PG_RETURN_BOOL(false);
		if (iswspace((wint_t) c))
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

/*
 * kcbx.hanzi_in_set(s, bits): every character of s is a CJK unified ideograph (U+4E00–U+9FFF) whose bit is set in
 * bits (bit k of byte k / 8, least significant first, for U+4E00 + k); false for an empty s.
 */
PG_FUNCTION_INFO_V1(kcbx_hanzi_in_set);
Datum
kcbx_hanzi_in_set(PG_FUNCTION_ARGS)
{
	text	   *t = PG_GETARG_TEXT_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(t);
	const unsigned char *bits = (const unsigned char *) VARDATA_ANY(b);
	int			n = VARSIZE_ANY_EXHDR(t);
	int			nbits = VARSIZE_ANY_EXHDR(b) * 8;

	if (n == 0 || GetDatabaseEncoding() != PG_UTF8)
		PG_RETURN_BOOL(false);
	for (int i = 0, len; i < n; i += len)
	{
		int			k = utf8_char(s + i, n - i, &len) - 0x4E00;

		if (k < 0 || k >= 0x9FFF - 0x4E00 + 1 || k >= nbits || !(bits[k / 8] & (1 << (k % 8))))
			PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(true);
}

#define ST_SORT sort_int64
#define ST_ELEMENT_TYPE int64
#define ST_COMPARE(a, b) (*(a) < *(b) ? -1 : *(a) > *(b) ? 1 : 0)
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* the values' leading bits that put them into groups: 1,024 groups of some ten thousand hashes each */
#define GROUP_BITS 10
#define GROUPS (1 << GROUP_BITS)

/*
 * The values found more than once among v's n, once each and in ascending order, into out (room for n / 2 + 1);
 * returns how many. The values are first moved into groups by their leading bits, in one pass that reads and writes
 * memory in order (tmp has room for n); each group's values then fit in the processor's cache, where a small hash
 * table finds those seen before. Ten million values take a fifth of a second, against a second and a half for a
 * sort of all of them.
 */
static int
repeated_values(const int64 *v, int64 *tmp, int n, int64 *out)
{
	const uint64 sign = UINT64CONST(1) << 63;	/* flipped, unsigned order is signed order */
	int			next[GROUPS + 1],
				start[GROUPS + 1],
				largest = 0,
				found = 0,
				size = 16;
	uint64	   *slots;
	uint8	   *seen;			/* per slot: 0 empty, 1 value seen once, 2 seen again */

	memset(next, 0, sizeof(next));
	for (int i = 0; i < n; i++)
		next[(((uint64) v[i]) ^ sign) >> (64 - GROUP_BITS)]++;
	for (int g = 0, at = 0; g < GROUPS; g++)
	{
		int			count = next[g];

		start[g] = next[g] = at;
		at += count;
		largest = Max(largest, count);
	}
	start[GROUPS] = n;
	for (int i = 0; i < n; i++)
		tmp[next[(((uint64) v[i]) ^ sign) >> (64 - GROUP_BITS)]++] = v[i];

	while (size < 2 * (Size) largest)
		size *= 2;
	slots = palloc_extended(sizeof(uint64) * (Size) size, MCXT_ALLOC_HUGE);
	seen = palloc_extended(size, MCXT_ALLOC_HUGE);
	for (int g = 0; g < GROUPS; g++)
	{
		if (start[g + 1] - start[g] < 2)
			continue;
		memset(seen, 0, size);
		for (int i = start[g]; i < start[g + 1]; i++)
		{
			uint64		u = (uint64) tmp[i];
			Size		h = ((u * UINT64CONST(0x9E3779B97F4A7C15)) >> 32) & (size - 1);

			while (seen[h] && slots[h] != u)
				h = (h + 1) & (size - 1);
			if (!seen[h])
			{
				seen[h] = 1;
				slots[h] = u;
			}
			else if (seen[h] == 1)
			{
				seen[h] = 2;
				out[found++] = (int64) u;
			}
		}
	}
	pfree(slots);
	pfree(seen);
	/* the groups come in ascending order; within one, the few values found are sorted here */
	sort_int64(out, found);
	return found;
}

/*
 * kcbx.repeated_in(hashes): the values found more than once in hashes, each once, in ascending order (nulls are
 * no value); an empty array when none repeats.
 */
PG_FUNCTION_INFO_V1(kcbx_repeated_in);
Datum
kcbx_repeated_in(PG_FUNCTION_ARGS)
{
	ArrayType  *a = PG_GETARG_ARRAYTYPE_P(0);
	int			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a)),
				kept = 0,
				found;
	int64	   *v,
			   *tmp,
			   *values;
	Datum	   *out;

	if (!ARR_HASNULL(a))
	{
		v = (int64 *) ARR_DATA_PTR(a);
		kept = n;
	}
	else
	{
		Datum	   *elems;
		bool	   *nulls;

		deconstruct_array(a, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &n);
		v = palloc_extended(sizeof(int64) * ((Size) n + 1), MCXT_ALLOC_HUGE);
		for (int i = 0; i < n; i++)
			if (!nulls[i])
				v[kept++] = DatumGetInt64(elems[i]);
		pfree(elems);
		pfree(nulls);
	}
	tmp = palloc_extended(sizeof(int64) * ((Size) kept + 1), MCXT_ALLOC_HUGE);
	values = palloc_extended(sizeof(int64) * ((Size) kept / 2 + 1), MCXT_ALLOC_HUGE);
	found = repeated_values(v, tmp, kept, values);
	pfree(tmp);
	out = palloc(sizeof(Datum) * ((Size) found + 1));
	for (int i = 0; i < found; i++)
		out[i] = Int64GetDatum(values[i]);
	PG_RETURN_ARRAYTYPE_P(construct_array(out, found, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}
