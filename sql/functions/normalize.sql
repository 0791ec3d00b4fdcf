-- Value normalizers shared by loading, validation, matching and reports.
-- Each is IMMUTABLE, never raises (a value it cannot read becomes NULL, and the caller records why), and is a
-- single SELECT expression without STRICT so that PostgreSQL inlines it into the calling statement: the loads of a
-- whole province run these on every row, and inlined expressions are several times faster than function calls.

-- Each normalizer first tries the form clean extracts have (checked with lengths and at most one short regular
-- expression: PostgreSQL's regular expressions cost about as much per row as everything else in a check) and only
-- falls back to its `_general` form for anything else; tests/test_normalize_sql.py checks that both give
-- the same result on generated values.

-- The tests of that form (id_is_canonical, canonical_id_valid, iso_date, is_digits, is_upper_alnum, has_no_space),
-- id_birth_date and is_simplified_hanzi are functions of their own: where the server can load the kcbx_native
-- library, migration replaces them with its C versions, which give the same results in a few nanoseconds instead
-- of up to two microseconds (pipelines/native/).

-- Full-width ASCII (ＡＢＣ１２３, the ideographic space) to half-width; pure ASCII text is returned as it is.
create or replace function kcbx.halfwidth(s text) returns text language sql immutable parallel safe as $$
  select case when octet_length(s) = char_length(s) then s else translate(s,
    '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－／．　',
    '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-/. ') end
$$;

-- GB 11643 check character of 17 digits (the caller has checked they are digits). The weighted sum is looked up
-- four digits at a time in tables built here, a quarter of the operations of a digit-by-digit sum.
do $do$
declare
  w int[] := '{7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2}';
  t text[] := '{}';
begin
  for k in 0..3 loop
    t := t || (select array_agg(w[4 * k + 1] * (i / 1000) + w[4 * k + 2] * (i / 100 % 10) + w[4 * k + 3] * (i / 10 % 10)
                                + w[4 * k + 4] * (i % 10) order by i)::text from generate_series(0, 9999) i);
  end loop;
  execute format($f$
    create or replace function kcbx.id_check_digits(first17 text) returns text language sql immutable parallel safe as $b$
      select substr('10X98765432', ((%L::int[])[substr(first17, 1, 4)::int + 1] + (%L::int[])[substr(first17, 5, 4)::int + 1]
        + (%L::int[])[substr(first17, 9, 4)::int + 1] + (%L::int[])[substr(first17, 13, 4)::int + 1]
        + 2 * substr(first17, 17, 1)::int) %% 11 + 1, 1)
    $b$ $f$, t[1], t[2], t[3], t[4]);
end $do$;

-- GB 11643 check character for the first 17 digits of an ID number (NULL unless 17 digits).
create or replace function kcbx.id_check_char(first17 text) returns text language sql immutable parallel safe as $$
  select case when octet_length(first17) = 17 and first17 ~ '^[0-9]+$' then kcbx.id_check_digits(first17) end
$$;

-- An ID number in its canonical form: 17 digits and a digit or X (18 bytes, so no full-width character in it).
create or replace function kcbx.id_is_canonical(s text) returns boolean language sql immutable parallel safe as $$
  select octet_length(s) = 18 and s ~ '^[0-9]+X?$'
$$;

-- A compact ID (no spaces, half-width, upper case) → 18 characters: a 15-digit legacy number gets 19yy and a check.
create or replace function kcbx.id18(v text) returns text language sql immutable parallel safe as $$
  select case when v ~ '^[0-9]{15}$'
    then substr(v, 1, 6) || '19' || substr(v, 7) || kcbx.id_check_char(substr(v, 1, 6) || '19' || substr(v, 7, 9))
    else v end
$$;

-- Trim, half-width, drop inner spaces, upper-case x, 15 → 18 digits; empty → NULL.
create or replace function kcbx.norm_id_general(s text) returns text language sql immutable parallel safe as $$
  select kcbx.id18(nullif(upper(regexp_replace(kcbx.halfwidth(s), '\s', '', 'g')), ''))
$$;

create or replace function kcbx.norm_id(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.id_is_canonical(s) then s else kcbx.norm_id_general(s) end
$$;

-- Calendar check of a year and month * 100 + day (1900–2100): one lookup in a table of the days of a leap year.
do $do$ begin
  execute format($f$
    create or replace function kcbx.date_valid(y int, md int) returns boolean language sql immutable parallel safe as $b$
      select y between 1900 and 2100 and coalesce((%L::boolean[])[md + 1], false)
        and (md <> 229 or (y %% 4 = 0 and (y %% 100 <> 0 or y %% 400 = 0)))
    $b$ $f$, (select array_agg(d.md is not null order by g.md)::text from generate_series(0, 1231) g (md)
              left join (select (extract(month from d) * 100 + extract(day from d))::int md
                         from generate_series(date '2000-01-01', date '2000-12-31', interval '1 day') d) d on d.md = g.md));
end $do$;

-- Calendar check for y-m-d. With d in 1–31, m * 100 + d names one month and day; a month outside 1–12 falls
-- outside the table or on its row of no days.
create or replace function kcbx.ymd_valid(y int, m int, d int) returns boolean language sql immutable
parallel safe as $$
  select d between 1 and 31 and kcbx.date_valid(y, m * 100 + d)
$$;

-- y-m-d → date without raising (NULL if no such day).
create or replace function kcbx.safe_date(y int, m int, d int) returns date language sql immutable parallel safe as $$
  select case when kcbx.ymd_valid(y, m, d) then make_date(y, m, d) end
$$;

-- Birth date embedded in an 18-character ID number (NULL if the number is malformed).
create or replace function kcbx.id_birth_date(id text) returns date language sql immutable parallel safe as $$
  select case when kcbx.id_is_canonical(id)
    then kcbx.safe_date(substr(id, 7, 4)::int, substr(id, 11, 2)::int, substr(id, 13, 2)::int) end
$$;

-- Gender embedded in an ID number: the 17th digit, odd for 男, even for 女.
create or replace function kcbx.id_gender(id text) returns text language sql immutable parallel safe as $$
  select case when kcbx.id_is_canonical(id) then case when substr(id, 17, 1)::int % 2 = 1 then '男' else '女' end end
$$;

-- The checks of an ID number in canonical form (the caller has checked it is): a real birth date, the right
-- check character.
create or replace function kcbx.canonical_id_valid(id text) returns boolean language sql immutable parallel safe as $$
  select kcbx.date_valid(substr(id, 7, 4)::int, substr(id, 11, 4)::int) and kcbx.id_check_digits(id) = right(id, 1)
$$;

-- A valid ID: 18 characters, a real birth date and the right check character.
create or replace function kcbx.id_valid(id text) returns boolean language sql immutable parallel safe as $$
  select coalesce(kcbx.id_is_canonical(id) and kcbx.canonical_id_valid(id), false)
$$;

-- Whether the ID number a raw value normalizes to is valid, in one inlined expression for canonical values. An
-- inlined kcbx.id_valid(kcbx.norm_id(s)) would normalize once per use of its argument; the general form is PL/pgSQL
-- for that reason (it computes its argument once).
create or replace function kcbx.id_valid_of_general(id text) returns boolean language plpgsql immutable
parallel safe as $$
begin
  return kcbx.id_valid(id);
end $$;

create or replace function kcbx.raw_id_valid(s text) returns boolean language sql immutable parallel safe as $$
  select case when kcbx.id_is_canonical(s) then kcbx.canonical_id_valid(s)
              else kcbx.id_valid_of_general(kcbx.norm_id_general(s)) end
$$;

-- A trimmed, half-width date text → date. Forms: YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 (optionally with
-- a 00:00:00 time), YYYYMMDD, or an Excel serial number.
create or replace function kcbx.date_from_text(v text) returns date language sql immutable parallel safe as $$
  select case
    when v ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' then
      kcbx.safe_date(substr(v, 1, 4)::int, substr(v, 6, 2)::int, substr(v, 9, 2)::int)
    when v ~ '^[0-9]{4}[-/.年][0-9]{1,2}[-/.月][0-9]{1,2}日?( 00:00(:00)?)?$' then
      kcbx.safe_date(substr(v, 1, 4)::int,
                     (regexp_match(v, '^[0-9]{4}[-/.年]([0-9]{1,2})'))[1]::int,
                     (regexp_match(v, '^[0-9]{4}[-/.年][0-9]{1,2}[-/.月]([0-9]{1,2})'))[1]::int)
    when v ~ '^[0-9]{8}$' then kcbx.safe_date(substr(v, 1, 4)::int, substr(v, 5, 2)::int, substr(v, 7, 2)::int)
    when v ~ '^[0-9]{3,5}(\.0+)?$' and split_part(v, '.', 1)::int between 1 and 73050
      then date '1899-12-30' + split_part(v, '.', 1)::int
    end
$$;

create or replace function kcbx.parse_date_general(s text) returns date language sql immutable parallel safe as $$
  select kcbx.date_from_text(btrim(kcbx.halfwidth(s)))
$$;

-- A YYYY-MM-DD text → its date; NULL for any other text or a day that does not exist.
create or replace function kcbx.iso_date(s text) returns date language sql immutable parallel safe as $$
  select case when octet_length(s) = 10 and substr(s, 5, 1) = '-' and substr(s, 8, 1) = '-'
                   and substr(s, 1, 4) || substr(s, 6, 2) || substr(s, 9, 2) ~ '^[0-9]+$'
    then kcbx.safe_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int) end
$$;

-- Dates: the YYYY-MM-DD form clean extracts have, else any other (a YYYY-MM-DD text naming no day is NULL either way).
create or replace function kcbx.parse_date(s text) returns date language sql immutable parallel safe as $$
  select coalesce(kcbx.iso_date(s), kcbx.parse_date_general(s))
$$;

create or replace function kcbx.norm_gender(s text) returns text language sql immutable parallel safe as $$
  select case s when '男' then '男' when '女' then '女' else
  case upper(btrim(kcbx.halfwidth(s)))
    when '男' then '男' when '1' then '男' when 'M' then '男' when 'MALE' then '男' when '男性' then '男'
    when '女' then '女' when '2' then '女' when 'F' then '女' when 'FEMALE' then '女' when '女性' then '女' end end
$$;

-- Grades 1–9 from a compact text: 1…9, 1年级…, 一年级…九年级, 初一…初三, 初1…初3.
create or replace function kcbx.grade_from_text(v text) returns smallint language sql immutable parallel safe as $$
  select case
    when v ~ '^[1-9]$' then v::smallint
    when v ~ '^[1-9]年级$' then substr(v, 1, 1)::smallint
    when v ~ '^[一二三四五六七八九]年级$' then (strpos('一二三四五六七八九', substr(v, 1, 1)))::smallint
    when v ~ '^初[一二三]$' then (6 + strpos('一二三', substr(v, 2, 1)))::smallint
    when v ~ '^初[1-3]$' then (6 + substr(v, 2, 1)::int)::smallint
    end
$$;

create or replace function kcbx.norm_grade_general(s text) returns smallint language sql immutable parallel safe as $$
  select kcbx.grade_from_text(regexp_replace(kcbx.halfwidth(s), '\s', '', 'g'))
$$;

create or replace function kcbx.norm_grade(s text) returns smallint language sql immutable parallel safe as $$
  select case when length(s) = 1 and strpos('123456789', s) > 0 then s::smallint else kcbx.norm_grade_general(s) end
$$;

-- County code (6 digits) from a 6-digit GB/T 2260 or a 12-digit statistical code.
create or replace function kcbx.norm_region_general(s text) returns text language sql immutable parallel safe as $$
  select case when btrim(kcbx.halfwidth(s)) ~ '^([0-9]{6}|[0-9]{12})$' then substr(btrim(kcbx.halfwidth(s)), 1, 6) end
$$;

-- Fast-path tests of text shape: digits only; digits and capital letters only; no white space.
create or replace function kcbx.is_digits(s text) returns boolean language sql immutable parallel safe as $$
  select s ~ '^[0-9]+$'
$$;

create or replace function kcbx.is_upper_alnum(s text) returns boolean language sql immutable parallel safe as $$
  select s ~ '^[0-9A-Z]+$'
$$;

create or replace function kcbx.has_no_space(s text) returns boolean language sql immutable parallel safe as $$
  select s ~ '^\S+$'
$$;

create or replace function kcbx.norm_region(s text) returns text language sql immutable parallel safe as $$
  select case when octet_length(s) in (6, 12) and kcbx.is_digits(s) then left(s, 6)
              else kcbx.norm_region_general(s) end
$$;

-- A name as it should be shown: trimmed, full-width spaces folded.
create or replace function kcbx.norm_name_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(regexp_replace(btrim(replace(s, '　', ' ')), '\s+', ' ', 'g'), '')
$$;

create or replace function kcbx.norm_name(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.has_no_space(s) then s else kcbx.norm_name_general(s) end
$$;

-- Codes (学籍状态…): no white space at all; empty → NULL.
create or replace function kcbx.norm_code_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(regexp_replace(s, '\s', '', 'g'), '')
$$;

create or replace function kcbx.norm_code(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.has_no_space(s) then s else kcbx.norm_code_general(s) end
$$;

-- Identifiers such as the 全国学籍号: half-width, no white space, upper case; empty → NULL.
create or replace function kcbx.norm_compact_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(upper(regexp_replace(kcbx.halfwidth(s), '\s', '', 'g')), '')
$$;

create or replace function kcbx.norm_compact(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.is_upper_alnum(s) then s else kcbx.norm_compact_general(s) end
$$;

-- School ids (学校标识码): trimmed, half-width; empty → NULL. Digits only, as nearly every one is written, need no
-- folding (is_digits is one pass in C).
create or replace function kcbx.norm_school_id_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(btrim(kcbx.halfwidth(s)), '')
$$;

create or replace function kcbx.norm_school_id(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.is_digits(s) then s else kcbx.norm_school_id_general(s) end
$$;

-- Whole numbers (毕业年份…): trimmed, half-width, at most 9 digits; anything else → NULL. Written as digits only, as
-- nearly every one is, a value needs no folding: is_digits is one pass in C, where the regular expression of the
-- general form cost about 1.5 µs a row.
create or replace function kcbx.norm_int_general(s text) returns int language sql immutable parallel safe as $$
  select case when btrim(kcbx.halfwidth(s)) ~ '^[0-9]{1,9}$' then btrim(kcbx.halfwidth(s))::int end
$$;

create or replace function kcbx.norm_int(s text) returns int language sql immutable parallel safe as $$
  select case when octet_length(s) <= 9 and kcbx.is_digits(s) then s::int else kcbx.norm_int_general(s) end
$$;

-- Free text (学校名称, 户编号…): trimmed; empty → NULL. A value with no white space at all is its own trimmed form
-- (btrim of a multibyte text costs more than has_no_space's one pass).
create or replace function kcbx.norm_text_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(btrim(s), '')
$$;

create or replace function kcbx.norm_text(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.has_no_space(s) then s else kcbx.norm_text_general(s) end
$$;

-- The key names are matched on: no spaces or name dots, half-width, simplified characters, upper case.
create or replace function kcbx.name_key_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(upper(kcbx.t2s(regexp_replace(kcbx.halfwidth(s), '[\s·•・.\-]', '', 'g'))), '')
$$;

-- A name of simplified Chinese characters only (the common case) is its own key.
create or replace function kcbx.name_key(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.is_simplified_hanzi(s) then s else kcbx.name_key_general(s) end
$$;

-- Masks for analysts: 410123********1234 and 张*.
create or replace function kcbx.mask_id(id text) returns text language sql immutable parallel safe as $$
  select case when length(id) >= 10 then substr(id, 1, 6) || repeat('*', length(id) - 10) || right(id, 4)
              else repeat('*', length(id)) end
$$;

create or replace function kcbx.mask_name(n text) returns text language sql immutable parallel safe as $$
  select substr(n, 1, 1) || repeat('*', greatest(length(n) - 1, 1))
$$;

-- Full years of age on a date. The timestamp casts keep the body immutable (age(date, date) would resolve to the
-- time-zone-dependent age(timestamptz, timestamptz)), so the planner inlines it: six times faster per row than a
-- call. Where the server loads kcbx_native, migration replaces it with the C version, faster still.
create or replace function kcbx.age_on(birth date, on_date date) returns int language sql immutable parallel safe as $$
  select extract(year from age(on_date::timestamp, birth::timestamp))::int
$$;

-- The birth dates of the children aged at least / at most so many full years on a date, as kcbx.age_on counts them.
-- A rule on a whole file compares each birth date with these two constants instead of computing every child's age
-- (tests/test_normalize_sql.py checks both against kcbx.age_on, 29 February included).
create or replace function kcbx.latest_birth_date(min_age int, on_date date) returns date language sql immutable
parallel safe as $$
  select (on_date - make_interval(years => min_age))::date
$$;

create or replace function kcbx.earliest_birth_date(max_age int, on_date date) returns date language sql immutable
parallel safe as $$
  select (on_date - make_interval(years => max_age + 1))::date + 1
$$;
