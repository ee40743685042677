"""Hand-written MATH/GSM8K-style problems for the labelled set (see make_math_labelled.py).

Each: `work` (the solution text before the final answer), `gold` (as MATH/GSM8K print it), `right`
(equivalent forms of the answer as (LaTeX, plain text)), `wrong` (typical wrong answers: off by one,
a sign, an intermediate value, a partial set, an approximation where the exact value is asked).
"""

# ruff: noqa: E501
P = dict  # noqa: N816 (short: the table below reads as data)

PROBLEMS = [
    # --- GSM8K-style word problems: integers, money, units, thousands separators ---
    P(
        work="Natalia sold 48 clips in April and half as many in May, which is 48 / 2 = 24 clips. Altogether she sold 48 + 24 = 72 clips.",
        gold="72",
        right=[("72", "72"), ("72", "72 clips")],
        wrong=[("24", "24"), ("96", "96")],
    ),
    P(
        work="Weng earns 12 / 60 = 0.2 dollars per minute. For 50 minutes she earned 0.2 * 50 = 10 dollars.",
        gold="10",
        right=[("10", "$10"), ("\\$10", "10 dollars")],
        wrong=[("0.2", "0.2"), ("600", "600")],
    ),
    P(
        work="Betty has 100 / 2 = 50 dollars. Her parents give 15 and her grandparents 15 * 2 = 30, so she has 50 + 15 + 30 = 95 dollars and needs 100 - 95 = 5 more.",
        gold="5",
        right=[("5", "5"), ("\\$5", "$5")],
        wrong=[("95", "95"), ("-5", "-5")],
    ),
    P(
        work="Julie read 12 pages yesterday and 12 * 2 = 24 today, so 36 pages are done and 120 - 36 = 84 remain. Half of the rest is 84 / 2 = 42.",
        gold="42",
        right=[("42", "42"), ("42\\text{ pages}", "42 pages")],
        wrong=[("84", "84"), ("36", "36")],
    ),
    P(
        work="James writes 3 pages to 2 friends twice a week: 3 * 2 * 2 = 12 pages a week, and 12 * 52 = 624 pages a year.",
        gold="624",
        right=[("624", "624"), ("624", "624 pages")],
        wrong=[("12", "12"), ("312", "312")],
    ),
    P(
        work="The store sold 2,345 shirts in March and 8,110 in April, 2,345 + 8,110 = 10,455 in total.",
        gold="10455",
        right=[("10,455", "10,455"), ("10455", "10455")],
        wrong=[("10,445", "10,445"), ("8,110", "8,110")],
    ),
    P(
        work="A town of 12,000 people grows by 5% a year: 12,000 * 0.05 = 600 more after one year.",
        gold="12600",
        right=[("12{,}600", "12,600"), ("12600", "12600 people")],
        wrong=[("600", "600"), ("12,060", "12,060")],
    ),
    P(
        work="The factory makes 250 bolts an hour for 8 hours a day, 250 * 8 = 2000 a day, and 2000 * 5 = 10000 in 5 days.",
        gold="10,000",
        right=[("10\\,000", "10 000"), ("10000", "10000")],
        wrong=[("2000", "2000"), ("1,000", "1,000")],
    ),
    P(
        work="Tickets cost $12.50 each, and 4 tickets cost 4 * 12.50 = 50 dollars; with a $3.25 fee the total is 53.25.",
        gold="53.25",
        right=[("53.25", "$53.25"), ("\\$53.25", "53.25 dollars")],
        wrong=[("50", "$50"), ("53.2", "53.2")],
    ),
    P(
        work="Mark runs 3 miles a day for 6 days, 3 * 6 = 18 miles, and twice as far on Sunday, 6 miles, for 24 miles in the week.",
        gold="24",
        right=[("24", "24"), ("24\\text{ miles}", "24 miles")],
        wrong=[("18", "18"), ("21", "21")],
    ),
    P(
        work="There were 1,200 visitors on Saturday and 1,550 on Sunday, so 1,550 - 1,200 = 350 more on Sunday.",
        gold="350",
        right=[("350", "350"), ("350", "350 visitors")],
        wrong=[("2750", "2,750"), ("1,550", "1,550")],
    ),
    P(
        work="A pizza has 8 slices; 3 pizzas have 24 slices. 5 friends eat 4 slices each, 20 slices, leaving 24 - 20 = 4.",
        gold="4",
        right=[("4", "4"), ("4", "4 slices")],
        wrong=[("20", "20"), ("3", "3")],
    ),
    P(
        work="The car travels 60 miles per hour for 2.5 hours, 60 * 2.5 = 150 miles.",
        gold="150",
        right=[("150", "150"), ("150\\text{ miles}", "150 miles")],
        wrong=[("62.5", "62.5"), ("120", "120")],
    ),
    P(
        work="She saves $45 a week for 12 weeks: 45 * 12 = 540 dollars, then spends 1/3 of it, 180, leaving 360.",
        gold="360",
        right=[("360", "$360"), ("\\$360", "360")],
        wrong=[("540", "540"), ("180", "180")],
    ),
    P(
        work="1 hour is 60 minutes, so 3.5 hours is 3.5 * 60 = 210 minutes.",
        gold="210",
        right=[("210", "210"), ("210", "210 minutes")],
        wrong=[("3.5", "3.5"), ("350", "350")],
    ),
    P(
        work="A salary of 1,234,000 dollars is split equally among 4 partners: 1,234,000 / 4 = 308,500 each.",
        gold="308500",
        right=[("308{,}500", "308,500"), ("308\\,500", "308 500")],
        wrong=[("308,000", "308,000"), ("1,234,000", "1,234,000")],
    ),
    # --- percentages ---
    P(
        work="The price fell from 50 to 36, a drop of 14, and 14 / 50 = 0.28.",
        gold="28",
        right=[("28\\%", "28%"), ("28", "28 percent")],
        wrong=[("14\\%", "14%"), ("72\\%", "72%")],
    ),
    P(
        work="Out of 80 students 20 walk to school, 20 / 80 = 0.25 of them.",
        gold="25\\%",
        right=[("25\\%", "25%"), ("0.25", "0.25")],
        wrong=[("20\\%", "20%"), ("75\\%", "75%")],
    ),
    P(
        work="The interest is 5% of 2000 each year, 100 dollars, so after 3 years the simple interest is 300 dollars.",
        gold="300",
        right=[("300", "$300"), ("\\$300", "300")],
        wrong=[("100", "100"), ("2300", "2300")],
    ),
    P(
        work="A discount of 15% on a $80 jacket saves 0.15 * 80 = 12 dollars.",
        gold="12",
        right=[("12", "$12"), ("12", "12 dollars")],
        wrong=[("68", "68"), ("15\\%", "15%")],
    ),
    P(
        work="The population rose from 400 to 500, an increase of 100 / 400.",
        gold="25\\%",
        right=[("25\\%", "25%"), ("25 \\%", "25 %")],
        wrong=[("20\\%", "20%"), ("100", "100")],
    ),
    # --- fractions, decimals ---
    P(
        work="Of the 36 outcomes of two dice, 6 have sum 7.",
        gold="\\frac{1}{6}",
        right=[("\\frac{1}{6}", "1/6"), ("\\dfrac{1}{6}", "$\\frac16$")],
        wrong=[("\\frac{1}{36}", "1/36"), ("\\frac{5}{36}", "5/36")],
    ),
    P(
        work="The probability of two heads in a row is (1/2)(1/2).",
        gold="\\frac{1}{4}",
        right=[("\\frac14", "1/4"), ("0.25", "0.25")],
        wrong=[("\\frac{1}{2}", "1/2"), ("0.2", "0.2")],
    ),
    P(
        work="Adding, $\\frac{1}{3} + \\frac{1}{4} = \\frac{4}{12} + \\frac{3}{12}$.",
        gold="\\frac{7}{12}",
        right=[("\\frac{7}{12}", "7/12"), ("\\tfrac{7}{12}", "$\\frac{7}{12}$")],
        wrong=[("\\frac{2}{7}", "2/7"), ("\\frac{1}{12}", "1/12")],
    ),
    P(
        work="The mean of 2, 3 and 7 is (2 + 3 + 7) / 3.",
        gold="4",
        right=[("4", "4"), ("\\frac{12}{3}", "12/3")],
        wrong=[("12", "12"), ("3", "3")],
    ),
    P(
        work="The slope through $(1, 2)$ and $(3, 7)$ is $\\frac{7-2}{3-1}$.",
        gold="\\frac{5}{2}",
        right=[("\\frac{5}{2}", "5/2"), ("2.5", "2.5")],
        wrong=[("\\frac{2}{5}", "2/5"), ("5", "5")],
    ),
    P(
        work="Dividing, 7 / 8 as a decimal is",
        gold="0.875",
        right=[("0.875", "0.875"), ("\\frac{7}{8}", "7/8")],
        wrong=[("0.87", "0.87"), ("0.78", "0.78")],
    ),
    P(
        work="The repeating decimal $0.\\overline{3}$ equals one third.",
        gold="\\frac{1}{3}",
        right=[("\\frac{1}{3}", "1/3"), ("\\dfrac{1}{3}", "$\\frac{1}{3}$")],
        wrong=[("\\frac{3}{10}", "3/10"), ("0.3", "0.3")],
    ),
    P(
        work="We need $x$ with $3x - 5 = 10 - 2x$, so $5x = 15$.",
        gold="3",
        right=[("3", "3"), ("x = 3", "x = 3")],
        wrong=[("5", "5"), ("-3", "-3")],
    ),
    P(
        work="From $2x + 7 = 3$ we get $2x = -4$.",
        gold="-2",
        right=[("-2", "-2"), ("x=-2", "x = -2")],
        wrong=[("2", "2"), ("-4", "-4")],
    ),
    # --- radicals, pi, exponents ---
    P(
        work="The diagonal of a square of side 4 is $4\\sqrt{2}$ since $4^2 + 4^2 = 32$.",
        gold="4\\sqrt{2}",
        right=[("4\\sqrt{2}", "$4\\sqrt{2}$"), ("\\sqrt{32}", "$\\sqrt{32}$")],
        wrong=[("8", "8"), ("2\\sqrt{2}", "$2\\sqrt{2}$")],
    ),
    P(
        work="Simplifying, $\\sqrt{50} = \\sqrt{25 \\cdot 2}$.",
        gold="5\\sqrt{2}",
        right=[("5\\sqrt{2}", "$5\\sqrt{2}$"), ("5\\sqrt2", "$5\\sqrt2$")],
        wrong=[("25\\sqrt{2}", "$25\\sqrt{2}$"), ("\\sqrt{10}", "$\\sqrt{10}$")],
    ),
    P(
        work="Rationalizing, $\\frac{1}{\\sqrt{3}} = \\frac{\\sqrt{3}}{3}$.",
        gold="\\frac{\\sqrt{3}}{3}",
        right=[("\\frac{\\sqrt{3}}{3}", "$\\frac{\\sqrt3}{3}$"), ("\\frac{1}{\\sqrt{3}}", "$1/\\sqrt{3}$")],
        wrong=[("\\sqrt{3}", "$\\sqrt{3}$"), ("\\frac{3}{\\sqrt{3}}", "$\\frac{3}{\\sqrt{3}}$")],
    ),
    P(
        work="The area of a circle of radius 3 is $\\pi r^2$.",
        gold="9\\pi",
        right=[("9\\pi", "$9\\pi$"), ("9 \\pi", "$9 \\pi$")],
        wrong=[("6\\pi", "$6\\pi$"), ("28.26", "28.26")],
    ),
    P(
        work="The circumference of a circle of diameter 10 is $\\pi d$.",
        gold="10\\pi",
        right=[("10\\pi", "$10\\pi$"), ("\\pi \\cdot 10", "$10 \\pi$")],
        wrong=[("5\\pi", "$5\\pi$"), ("100\\pi", "$100\\pi$")],
    ),
    P(
        work="We compute $2^{10}$ by squaring: $2^5 = 32$ and $32^2$.",
        gold="1024",
        right=[("1024", "1024"), ("2^{10}", "$2^{10}$")],
        wrong=[("1000", "1000"), ("512", "512")],
    ),
    P(
        work="The golden ratio is the positive root of $x^2 = x + 1$, found with the quadratic formula.",
        gold="\\frac{1+\\sqrt{5}}{2}",
        right=[
            ("\\frac{1+\\sqrt{5}}{2}", "$\\frac{1+\\sqrt{5}}{2}$"),
            ("\\frac{\\sqrt{5}+1}{2}", "$\\frac{\\sqrt5 + 1}{2}$"),
        ],
        wrong=[("\\frac{1-\\sqrt{5}}{2}", "$\\frac{1-\\sqrt{5}}{2}$"), ("\\sqrt{5}", "$\\sqrt{5}$")],
    ),
    P(
        work="By the quadratic formula the larger root of $x^2 - 4x + 1 = 0$ is $\\frac{4 + \\sqrt{12}}{2}$.",
        gold="2+\\sqrt{3}",
        right=[("2+\\sqrt{3}", "$2 + \\sqrt{3}$"), ("\\sqrt{3}+2", "$\\sqrt3 + 2$")],
        wrong=[("2-\\sqrt{3}", "$2 - \\sqrt{3}$"), ("4+\\sqrt{3}", "$4+\\sqrt{3}$")],
    ),
    P(
        work="Using $\\log_2 8 = 3$ and $\\log_2 4 = 2$, the sum is",
        gold="5",
        right=[("5", "5"), ("\\log_2 32", "$\\log_2 32$")],
        wrong=[("6", "6"), ("12", "12")],
    ),
    # --- algebraic expressions ---
    P(
        work="Expanding $(x+1)^2$ gives the square of the binomial.",
        gold="x^2+2x+1",
        right=[("x^2+2x+1", "$x^2 + 2x + 1$"), ("1 + 2x + x^2", "$1 + 2x + x^2$")],
        wrong=[("x^2+1", "$x^2 + 1$"), ("x^2+x+1", "$x^2+x+1$")],
    ),
    P(
        work="Factoring out the common factor of $6x^2 + 9x$,",
        gold="3x(2x+3)",
        right=[("3x(2x+3)", "$3x(2x+3)$"), ("3x(3+2x)", "$3x(3 + 2x)$")],
        wrong=[("3x(2x+9)", "$3x(2x+9)$"), ("x(6x+3)", "$x(6x+3)$")],
    ),
    P(
        work="The inverse of $f(x) = 2x + 3$ solves $y = 2x + 3$ for $x$.",
        gold="\\frac{x-3}{2}",
        right=[
            ("\\frac{x-3}{2}", "$\\frac{x-3}{2}$"),
            ("\\frac{x}{2}-\\frac{3}{2}", "$\\frac{x}{2} - \\frac{3}{2}$"),
        ],
        wrong=[("\\frac{x+3}{2}", "$\\frac{x+3}{2}$"), ("2x-3", "$2x - 3$")],
    ),
    P(
        work="The line through $(0, 3)$ with slope 2 is",
        gold="y=2x+3",
        right=[("y = 2x + 3", "$y = 2x + 3$"), ("y=2x+3", "$y=2x+3$")],
        wrong=[("y = 3x + 2", "$y = 3x + 2$"), ("y = 2x - 3", "$y = 2x - 3$")],
    ),
    # --- intervals, inequalities ---
    P(
        work="We need $2x - 4 \\ge 6$, that is $x \\ge 5$.",
        gold="[5,\\infty)",
        right=[("[5, \\infty)", "$[5, \\infty)$"), ("[5,\\infty)", "$[5,\\infty)$")],
        wrong=[("(5, \\infty)", "$(5, \\infty)$"), ("[6, \\infty)", "$[6, \\infty)$")],
    ),
    P(
        work="The domain of $\\sqrt{x-2}$ requires $x - 2 \\ge 0$; the function $\\frac{1}{x-5}$ also excludes 5.",
        gold="[2,5)\\cup(5,\\infty)",
        right=[
            ("[2,5)\\cup(5,\\infty)", "$[2,5) \\cup (5, \\infty)$"),
            ("[2, 5) \\cup (5, \\infty)", "$[2,5)\\cup(5,\\infty)$"),
        ],
        wrong=[("[2, \\infty)", "$[2, \\infty)$"), ("(2,5)\\cup(5,\\infty)", "$(2,5)\\cup(5,\\infty)$")],
    ),
    P(
        work="The quadratic $x^2 - 1 < 0$ holds between its roots.",
        gold="(-1,1)",
        right=[("(-1, 1)", "$(-1, 1)$"), ("(-1,1)", "$(-1,1)$")],
        wrong=[("[-1, 1]", "$[-1, 1]$"), ("(0, 1)", "$(0, 1)$")],
    ),
    # --- sets of solutions, tuples, points ---
    P(
        work="Factoring $x^2 - 5x + 6 = (x-2)(x-3)$.",
        gold="2,3",
        right=[("2, 3", "2, 3"), ("3, 2", "$3, 2$")],
        wrong=[("2", "2"), ("-2, -3", "-2, -3")],
    ),
    P(
        work="The roots of $x^3 - x = x(x-1)(x+1)$ are",
        gold="-1, 0, 1",
        right=[("-1, 0, 1", "-1, 0, 1"), ("\\{-1,0,1\\}", "$\\{-1, 0, 1\\}$")],
        wrong=[("0, 1", "0, 1"), ("-1, 1", "-1, 1")],
    ),
    P(
        work="The midpoint of $(2, 4)$ and $(6, 8)$ averages the coordinates.",
        gold="(4,6)",
        right=[("(4, 6)", "$(4, 6)$"), ("(4,6)", "(4,6)")],
        wrong=[("(6, 4)", "$(6, 4)$"), ("(8, 12)", "(8, 12)")],
    ),
    P(
        work="The center of $(x-3)^2 + (y+2)^2 = 9$ is read off the equation.",
        gold="(3,-2)",
        right=[("(3, -2)", "$(3, -2)$"), ("(3,-2)", "(3,-2)")],
        wrong=[("(-3, 2)", "$(-3, 2)$"), ("(3, 2)", "(3, 2)")],
    ),
    P(
        work="Solving the system $x + y = 5$, $x - y = 1$ by adding the equations gives $2x = 6$.",
        gold="(3,2)",
        right=[("(3, 2)", "$(3, 2)$"), ("(3,2)", "(3,2)")],
        wrong=[("(2, 3)", "$(2, 3)$"), ("3", "3")],
    ),
    # --- text answers and units ---
    P(
        work="Counting forward 10 days from a Monday: 7 days is Monday again, then 3 more days.",
        gold="\\text{Thursday}",
        styles=("boxed", "minerva", "final_bold"),
        right=[("\\text{Thursday}", "Thursday"), ("\\text{Thursday}", "Thursday")],
        wrong=[("\\text{Wednesday}", "Wednesday"), ("\\text{Friday}", "Friday")],
    ),
    P(
        work="The angle sum of a triangle is $180^\\circ$, so the third angle is $180 - 50 - 60$.",
        gold="70",
        right=[("70^\\circ", "70 degrees"), ("70", "70")],
        wrong=[("110^\\circ", "110 degrees"), ("60", "60")],
    ),
    P(
        work="Each interior angle of a regular hexagon is $\\frac{(6-2) \\cdot 180}{6}$ degrees.",
        gold="120^\\circ",
        right=[("120^\\circ", "120 degrees"), ("120", "120")],
        wrong=[("60^\\circ", "60 degrees"), ("720", "720")],
    ),
    P(
        work="A rectangle 5 cm by 7 cm has area 5 * 7 square centimeters.",
        gold="35",
        right=[("35\\text{ cm}^2", "35 square cm"), ("35", "35")],
        wrong=[("24", "24"), ("12", "12")],
    ),
    # --- counting, number theory ---
    P(
        work="Choosing 2 of 5 people: $\\binom{5}{2} = \\frac{5 \\cdot 4}{2}$.",
        gold="10",
        right=[("10", "10"), ("\\binom{5}{2}", "$\\binom{5}{2}$")],
        wrong=[("20", "20"), ("25", "25")],
    ),
    P(
        work="The number of arrangements of 4 books on a shelf is $4!$.",
        gold="24",
        right=[("24", "24"), ("4!", "$4!$")],
        wrong=[("16", "16"), ("12", "12")],
    ),
    P(
        work="The gcd of 84 and 36: $84 = 2 \\cdot 36 + 12$ and $36 = 3 \\cdot 12$.",
        gold="12",
        right=[("12", "12"), ("12", "12")],
        wrong=[("6", "6"), ("4", "4")],
    ),
    P(
        work="$2^{100}$ mod 7: $2^3 = 8 \\equiv 1$, and $100 = 3 \\cdot 33 + 1$.",
        gold="2",
        right=[("2", "2"), ("2", "2")],
        wrong=[("1", "1"), ("4", "4")],
    ),
    P(
        work="The sum $1 + 2 + \\cdots + 100 = \\frac{100 \\cdot 101}{2}$.",
        gold="5050",
        right=[("5050", "5050"), ("5{,}050", "5,050")],
        wrong=[("5000", "5000"), ("10100", "10,100")],
    ),
    P(
        work="The number of positive divisors of $72 = 2^3 \\cdot 3^2$ is $(3+1)(2+1)$.",
        gold="12",
        right=[("12", "12"), ("12", "12")],
        wrong=[("6", "6"), ("8", "8")],
    ),
    P(
        work="The largest $n$ with $n^2 < 1200$: $34^2 = 1156$ and $35^2 = 1225$.",
        gold="34",
        right=[("34", "34"), ("34", "n = 34")],
        wrong=[("35", "35"), ("1156", "1156")],
    ),
    # --- negative, zero, large, small ---
    P(
        work="The minimum of $x^2 + 6x + 4 = (x+3)^2 - 5$ is at $x = -3$.",
        gold="-5",
        right=[("-5", "-5"), ("-5", "$-5$")],
        wrong=[("-3", "-3"), ("4", "4")],
    ),
    P(
        work="The product of the roots of $x^2 + 7x - 8$ is $c/a$.",
        gold="-8",
        right=[("-8", "-8"), ("-8", "$-8$")],
        wrong=[("8", "8"), ("-7", "-7")],
    ),
    P(
        work="The limit of $\\frac{\\sin x}{x}$ as $x \\to 0$ is a standard result, so the limit of $\\frac{\\sin x}{x} - 1$ is",
        gold="0",
        right=[("0", "0"), ("0", "0")],
        wrong=[("1", "1"), ("-1", "-1")],
    ),
    P(
        work="Scientific notation: 0.00052 = 5.2 * 10^{-4}.",
        gold="0.00052",
        right=[("0.00052", "0.00052"), ("5.2 \\times 10^{-4}", "$5.2 \\times 10^{-4}$")],
        wrong=[("0.0052", "0.0052"), ("5.2 \\times 10^{-3}", "$5.2\\times 10^{-3}$")],
    ),
    P(
        work="One million divided by 8 is 125 thousand.",
        gold="125000",
        right=[("125,000", "125,000"), ("125\\,000", "125 000")],
        wrong=[("12,500", "12,500"), ("1,250,000", "1,250,000")],
    ),
    # --- matrices, vectors, complex ---
    P(
        work="Multiplying $\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}$ by 2 doubles each entry.",
        gold="\\begin{pmatrix} 2 & 4 \\\\ 6 & 8 \\end{pmatrix}",
        styles=("boxed", "minerva", "display", "final_bold"),
        right=[
            ("\\begin{pmatrix} 2 & 4 \\\\ 6 & 8 \\end{pmatrix}", ""),
            ("\\begin{pmatrix}2&4\\\\6&8\\end{pmatrix}", ""),
        ],
        wrong=[
            ("\\begin{pmatrix} 2 & 4 \\\\ 6 & 9 \\end{pmatrix}", ""),
            ("\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}", ""),
        ],
    ),
    P(
        work="$(1 + i)^2 = 1 + 2i + i^2$.",
        gold="2i",
        right=[("2i", "$2i$"), ("0+2i", "$0 + 2i$")],
        wrong=[("2", "2"), ("1+2i", "$1+2i$")],
    ),
    P(
        work="The modulus of $3 + 4i$ is $\\sqrt{3^2 + 4^2}$.",
        gold="5",
        right=[("5", "5"), ("\\sqrt{25}", "$\\sqrt{25}$")],
        wrong=[("7", "7"), ("25", "25")],
    ),
    P(
        work="The dot product of $(1, 2, 3)$ and $(4, 5, 6)$ is $4 + 10 + 18$.",
        gold="32",
        right=[("32", "32"), ("32", "32")],
        wrong=[("21", "21"), ("(4,10,18)", "(4, 10, 18)")],
    ),
    # --- trigonometry ---
    P(
        work="From the unit circle, $\\sin 30^\\circ$ is",
        gold="\\frac{1}{2}",
        right=[("\\frac{1}{2}", "1/2"), ("0.5", "0.5")],
        wrong=[
            ("\\frac{\\sqrt{3}}{2}", "$\\frac{\\sqrt{3}}{2}$"),
            ("\\frac{\\sqrt{2}}{2}", "$\\frac{\\sqrt2}{2}$"),
        ],
    ),
    P(
        work="$\\cos 45^\\circ = \\frac{1}{\\sqrt{2}}$ after rationalizing is",
        gold="\\frac{\\sqrt{2}}{2}",
        right=[
            ("\\frac{\\sqrt{2}}{2}", "$\\frac{\\sqrt{2}}{2}$"),
            ("\\frac{1}{\\sqrt{2}}", "$\\frac{1}{\\sqrt2}$"),
        ],
        wrong=[("\\frac{1}{2}", "1/2"), ("\\sqrt{2}", "$\\sqrt{2}$")],
    ),
    P(
        work="The period of $\\sin(2x)$ is $\\frac{2\\pi}{2}$.",
        gold="\\pi",
        right=[("\\pi", "$\\pi$"), ("\\frac{2\\pi}{2}", "$\\frac{2\\pi}{2}$")],
        wrong=[("2\\pi", "$2\\pi$"), ("\\frac{\\pi}{2}", "$\\frac{\\pi}{2}$")],
    ),
]
