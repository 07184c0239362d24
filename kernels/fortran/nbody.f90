! The lecture's Fortran subroutine, wrapped by numpy.f2py.
!
! Two changes from the lecture: arrays are (3, n), which is the memory layout of NumPy's
! C-ordered (n, 3), so f2py passes them without a copy; and only the accelerations are
! computed (dpdt is the velocity itself, which the caller already holds).
subroutine accelerations(n, pos, mass, acc)
    implicit none
    integer, intent(in) :: n
    double precision, intent(in) :: pos(3, n), mass(n)
    double precision, intent(out) :: acc(3, n)
    integer :: i, j
    double precision :: d(3), r2

    acc = 0.0d0
    do i = 1, n
        do j = 1, n
            if (i == j) cycle
            d = pos(:, j) - pos(:, i)
            r2 = d(1) * d(1) + d(2) * d(2) + d(3) * d(3)
            acc(:, i) = acc(:, i) + mass(j) / (r2 * sqrt(r2)) * d
        end do
    end do
end subroutine accelerations
