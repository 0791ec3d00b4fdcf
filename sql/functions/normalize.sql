-- Value normalizers shared by loading, validation, matching and reports.
-- Each is IMMUTABLE, never raises (a value it cannot read becomes NULL, and the caller records why), and is a
-- single SELECT expression without STRICT so that PostgreSQL inlines it into the calling statement: the loads of a
-- whole province run these on every row, and inlined expressions are several times faster than function calls.

-- Each normalizer first tries the form clean extracts have (checked with translate/length, no regular expression)
-- and only falls back to its `_general` form for anything else; tests/test_normalize_sql.py checks that both give
-- the same result on generated values.

-- Full-width ASCII (ＡＢＣ１２３, the ideographic space) to half-width; pure ASCII text is returned as it is.
create or replace function kcbx.halfwidth(s text) returns text language sql immutable parallel safe as $$
  select case when octet_length(s) = char_length(s) then s else translate(s,
    '０１２３４５６７８９ＡＢＣＤＥＦＧＨＩＪＫＬＭＮＯＰＱＲＳＴＵＶＷＸＹＺａｂｃｄｅｆｇｈｉｊｋｌｍｎｏｐｑｒｓｔｕｖｗｘｙｚ－／．　',
    '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-/. ') end
$$;

-- Every digit as 0: the shape of a value ('0000-00-00', '00000000000000000X'), a cheap test of its form.
create or replace function kcbx.digit_shape(s text) returns text language sql immutable parallel safe as $$
  select translate(s, '123456789', '000000000')
$$;

-- GB 11643 check character of 17 digits (the caller has checked they are digits).
create or replace function kcbx.id_check_digits(first17 text) returns text language sql immutable parallel safe as $$
  select substr('10X98765432', (
      substr(first17, 1, 1)::int * 7 + substr(first17, 2, 1)::int * 9 + substr(first17, 3, 1)::int * 10
    + substr(first17, 4, 1)::int * 5 + substr(first17, 5, 1)::int * 8 + substr(first17, 6, 1)::int * 4
    + substr(first17, 7, 1)::int * 2 + substr(first17, 8, 1)::int * 1 + substr(first17, 9, 1)::int * 6
    + substr(first17, 10, 1)::int * 3 + substr(first17, 11, 1)::int * 7 + substr(first17, 12, 1)::int * 9
    + substr(first17, 13, 1)::int * 10 + substr(first17, 14, 1)::int * 5 + substr(first17, 15, 1)::int * 8
    + substr(first17, 16, 1)::int * 4 + substr(first17, 17, 1)::int * 2) % 11 + 1, 1)
$$;

-- GB 11643 check character for the first 17 digits of an ID number (NULL unless 17 digits).
create or replace function kcbx.id_check_char(first17 text) returns text language sql immutable parallel safe as $$
  select case when kcbx.digit_shape(first17) = '00000000000000000' then kcbx.id_check_digits(first17) end
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
  select case when kcbx.digit_shape(s) in ('000000000000000000', '00000000000000000X') then s
              else kcbx.norm_id_general(s) end
$$;

-- Calendar check for y-m-d.
create or replace function kcbx.ymd_valid(y int, m int, d int) returns boolean language sql immutable
parallel safe as $$
  select y between 1900 and 2100 and m between 1 and 12 and d between 1 and
    case when m = 2 then 28 + (y % 4 = 0 and (y % 100 <> 0 or y % 400 = 0))::int
         when m in (4, 6, 9, 11) then 30 else 31 end
$$;

-- y-m-d → date without raising (NULL if no such day).
create or replace function kcbx.safe_date(y int, m int, d int) returns date language sql immutable parallel safe as $$
  select case when kcbx.ymd_valid(y, m, d) then make_date(y, m, d) end
$$;

-- Birth date embedded in an 18-character ID number (NULL if the number is malformed).
create or replace function kcbx.id_birth_date(id text) returns date language sql immutable parallel safe as $$
  select case when id ~ '^[0-9]{17}[0-9X]$'
    then kcbx.safe_date(substr(id, 7, 4)::int, substr(id, 11, 2)::int, substr(id, 13, 2)::int) end
$$;

-- Gender embedded in an ID number: the 17th digit, odd for 男, even for 女.
create or replace function kcbx.id_gender(id text) returns text language sql immutable parallel safe as $$
  select case when id ~ '^[0-9]{17}[0-9X]$' then case when substr(id, 17, 1)::int % 2 = 1 then '男' else '女' end end
$$;

-- A valid ID: 18 characters, a real birth date and the right check character. PL/pgSQL on purpose: the argument
-- (usually kcbx.norm_id(...)) is then computed once, where an inlined body would repeat it in every test.
create or replace function kcbx.id_valid(id text) returns boolean language plpgsql immutable parallel safe as $$
begin
  return case when kcbx.digit_shape(id) in ('000000000000000000', '00000000000000000X')
    then kcbx.ymd_valid(substr(id, 7, 4)::int, substr(id, 11, 2)::int, substr(id, 13, 2)::int)
         and kcbx.id_check_digits(id) = right(id, 1)
    else false end;
end $$;

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

create or replace function kcbx.parse_date(s text) returns date language sql immutable parallel safe as $$
  select case when kcbx.digit_shape(s) = '0000-00-00'
    then kcbx.safe_date(substr(s, 1, 4)::int, substr(s, 6, 2)::int, substr(s, 9, 2)::int)
    else kcbx.parse_date_general(s) end
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

create or replace function kcbx.norm_region(s text) returns text language sql immutable parallel safe as $$
  select case when kcbx.digit_shape(s) in ('000000', '000000000000') then left(s, 6)
              else kcbx.norm_region_general(s) end
$$;

-- A name as it should be shown: trimmed, full-width spaces folded.
create or replace function kcbx.norm_name_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(regexp_replace(btrim(replace(s, '　', ' ')), '\s+', ' ', 'g'), '')
$$;

create or replace function kcbx.norm_name(s text) returns text language sql immutable parallel safe as $$
  select case when s ~ '^\S+$' then s else kcbx.norm_name_general(s) end
$$;

-- Codes (学籍状态…): no white space at all; empty → NULL.
create or replace function kcbx.norm_code_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(regexp_replace(s, '\s', '', 'g'), '')
$$;

create or replace function kcbx.norm_code(s text) returns text language sql immutable parallel safe as $$
  select case when s ~ '^\S+$' then s else kcbx.norm_code_general(s) end
$$;

-- Identifiers such as the 全国学籍号: half-width, no white space, upper case; empty → NULL.
create or replace function kcbx.norm_compact_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(upper(regexp_replace(kcbx.halfwidth(s), '\s', '', 'g')), '')
$$;

create or replace function kcbx.norm_compact(s text) returns text language sql immutable parallel safe as $$
  select case when s ~ '^[0-9A-Z]+$' then s else kcbx.norm_compact_general(s) end
$$;

-- The key names are matched on: no spaces or name dots, half-width, simplified characters, upper case.
create or replace function kcbx.name_key_general(s text) returns text language sql immutable parallel safe as $$
  select nullif(upper(kcbx.t2s(regexp_replace(kcbx.halfwidth(s), '[\s·•・.\-]', '', 'g'))), '')
$$;

-- Names of Chinese characters only (the common case) need only the traditional → simplified step.
create or replace function kcbx.name_key(s text) returns text language sql immutable parallel safe as $$
  select case when s ~ '^[一-鿿]+$' then kcbx.t2s(s) else kcbx.name_key_general(s) end
$$;

-- Masks for analysts: 410123********1234 and 张*.
create or replace function kcbx.mask_id(id text) returns text language sql immutable parallel safe as $$
  select case when length(id) >= 10 then substr(id, 1, 6) || repeat('*', length(id) - 10) || right(id, 4)
              else repeat('*', length(id)) end
$$;

create or replace function kcbx.mask_name(n text) returns text language sql immutable parallel safe as $$
  select substr(n, 1, 1) || repeat('*', greatest(length(n) - 1, 1))
$$;

-- Full years of age on a date.
create or replace function kcbx.age_on(birth date, on_date date) returns int language sql immutable parallel safe as $$
  select extract(year from age(on_date, birth))::int
$$;
